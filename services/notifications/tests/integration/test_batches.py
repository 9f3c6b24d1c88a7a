"""A consumed batch of events that queue emails is applied as one set (one erasure lookup, the deliveries in one
statement), on real PostgreSQL; a poison event in it sends the batch one by one, so that only it goes to the
dead letters, and an event twice in one batch still makes each email once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from services.notifications.consumers import RUNS, SUBSCRIPTIONS
from services.notifications.db.tables import processed_events
from services.notifications.tests import factories
from services.notifications.tests.conftest import Service
from shared.contracts import Envelope, Event
from shared.contracts.personal_data import SubjectKind
from shared.inbox import IdempotentConsumer, Record

pytestmark = pytest.mark.integration


@dataclass
class DeadLetters:
    """The dead-letter topic, as the consumer publishes to it: the event ids that went there."""

    event_ids: list[uuid.UUID] = field(default_factory=list)

    async def __call__(self, topic: str, key: bytes, value: bytes, headers: Mapping[str, str]) -> Awaitable[Any]:
        assert topic.endswith(".dlq") and headers["dlq-error-type"] == "NotAnAbsoluteUrl"
        self.event_ids.append(Envelope.model_validate_json(value).event_id)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


def consumer(service: Service, dead_letters: DeadLetters) -> IdempotentConsumer[Any]:
    """Notifications's consumer as the service wires it (its handlers, its runs), with the dead letters kept here."""
    bus = service.bus
    handlers = {t: bus.bind(h) for by_type in SUBSCRIPTIONS.values() for t, h in by_type.items()}
    runs = {t: bus.bind(h) for t, h in RUNS.items()}
    return IdempotentConsumer("notifications", bus.uow_factory, processed_events, handlers, dead_letters,
                              max_attempts=2, backoff_seconds=0.01, runs=runs)  # fmt: skip


def record(event: Event, envelope: Envelope | None = None, offset: int = 0) -> Record:
    envelope = envelope or Envelope.wrap(event, producer="intake")
    return Record(event.topic.value, event.key().encode(), envelope.model_dump_json().encode(), {}, 0, offset)


async def test_a_batch_of_submissions_queues_each_email_once_and_only_its_poison_event_is_dead_lettered(
    service: Service,
) -> None:
    submissions = [factories.submitted(reference=f"MM-2026-{n:04d}") for n in range(1, 6)]
    poison = factories.submitted(reference="MM-2026-0666", status_url="/status/relative")  # no email can carry it
    batch = [*submissions[:2], poison, *submissions[2:]]
    dead_letters = DeadLetters()
    envelopes = [Envelope.wrap(event, producer="intake") for event in batch]

    await consumer(service, dead_letters).handle_batch(
        [record(e, envelope, offset) for offset, (e, envelope) in enumerate(zip(batch, envelopes, strict=True))]
    )

    assert dead_letters.event_ids == [envelopes[2].event_id]
    rows = await service.rows("SELECT event_id, template, recipient FROM deliveries")
    per_event = {envelope.event_id: 0 for envelope in envelopes}
    for row in rows:
        per_event[row["event_id"]] += 1
    # The receipt and one alert per coordinator, for each submission but the poison one.
    assert per_event == {e.event_id: 0 if e is envelopes[2] else 1 + len(factories.COORDINATORS) for e in envelopes}
    marked = await service.rows("SELECT event_id FROM processed_events")
    assert {row["event_id"] for row in marked} == {e.event_id for e in envelopes if e is not envelopes[2]}


async def test_the_same_submission_twice_in_one_batch_and_again_in_the_next_makes_each_email_once(
    service: Service,
) -> None:
    first, second = factories.submitted(reference="MM-2026-0001"), factories.submitted(reference="MM-2026-0002")
    again = Envelope.wrap(first, producer="intake")
    dead_letters = DeadLetters()
    consuming = consumer(service, dead_letters)

    await consuming.handle_batch([record(first, again, 0), record(second, None, 1), record(first, again, 2)])
    await consuming.handle_batch([record(first, again, 3)])

    rows = await service.rows("SELECT event_id, template, recipient FROM deliveries")
    mine = [row for row in rows if row["event_id"] == again.event_id]
    assert len(mine) == 1 + len(factories.COORDINATORS)
    assert len({(row["template"], row["recipient"]) for row in mine}) == len(mine)
    assert len(rows) == 2 * (1 + len(factories.COORDINATORS))
    assert dead_letters.event_ids == []


async def test_a_batch_about_a_person_erased_earlier_in_it_neither_writes_to_them_nor_stores_their_address(
    service: Service,
) -> None:
    """The erasure is applied alone, before the run of the events after it: they find the person erased."""
    confirmation = factories.confirmation_requested()
    person = confirmation.resource_id
    before, after = factories.submitted(reference="MM-2026-0001"), factories.submitted(reference="MM-2026-0002")
    batch = [before, factories.erased(person), confirmation, after]

    await consumer(service, DeadLetters()).handle_batch([record(e, None, n) for n, e in enumerate(batch)])

    rows = await service.rows("SELECT resource_id, recipient FROM deliveries")
    assert all(row["resource_id"] != person and row["recipient"] != confirmation.email for row in rows)
    assert len(rows) == 2 * (1 + len(factories.COORDINATORS))
    erased = await service.rows("SELECT subject_id FROM erased_subjects WHERE kind = :kind",
                                kind=SubjectKind.RESOURCE.value)  # fmt: skip
    assert [row["subject_id"] for row in erased] == [person]
