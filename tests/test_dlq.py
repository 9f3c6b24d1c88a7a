"""`meetmalmo dlq`: dead letters listed with their error, and redriven in per-key order only where that is
safe, against the real Kafka."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from typer.testing import CliRunner

from shared.cli import app
from shared.contracts import Envelope, Topic
from shared.dlq import DeadLetter, _why_not, list_dead_letters, redrive
from shared.service import Infrastructure
from shared.testing import create_database, drop_database, eventually
from shared.unit_of_work import UnitOfWork
from tests.test_messaging_through_kafka import (
    ProbeRecorded,
    bus,
    count,
    effects,
    infrastructure,
    metadata,
    record_probe,
)

pytestmark = pytest.mark.integration

REFUSED: set[int] = set()  # the "bug": values the handler refuses until it is fixed


async def apply_unless_refused(event: ProbeRecorded, uow: UnitOfWork, _: Envelope) -> None:
    if event.value in REFUSED:
        raise ValueError(f"probe {event.value} refused")
    await uow.session.execute(effects.insert().values(probe_id=event.probe_id, value=event.value))


@pytest.fixture
async def kit(
    postgres_server: str, kafka_bootstrap: str, topic_namespace: str
) -> AsyncIterator[tuple[Infrastructure, Infrastructure]]:
    urls = [await create_database(postgres_server, "dlq_producer"), await create_database(postgres_server, "dlq_c")]
    producer = infrastructure("kit-producer", urls[0], kafka_bootstrap, topic_namespace)
    consumer = infrastructure("kit-consumer", urls[1], kafka_bootstrap, topic_namespace)
    for infra in (producer, consumer):
        async with infra.engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
    consumer.consume("kit-consumer", {Topic.NOTIFICATIONS: {ProbeRecorded: apply_unless_refused}}, bus(consumer))
    yield producer, consumer
    for infra in (producer, consumer):
        await infra.engine.dispose()
    for url in urls:
        await drop_database(url)


async def test_dead_letters_are_listed_and_only_those_whose_key_saw_no_later_event_are_redriven(
    kit: tuple[Infrastructure, Infrastructure], kafka_bootstrap: str, topic_namespace: str
) -> None:
    producer, consumer = kit
    first, second = uuid.uuid4(), uuid.uuid4()
    REFUSED.update({-1, -3})
    try:
        async with producer.running(), consumer.running():
            await record_probe(producer, first, -1)  # dead-lettered ...
            await record_probe(producer, first, 2)  # ... and a later event of its key is applied
            await record_probe(producer, second, -3)  # dead-lettered, nothing after it on its key
            await eventually(lambda: count(consumer, effects, effects.c.value == 2), timeout=60)

            async def two_letters() -> list[DeadLetter]:
                letters = await list_dead_letters(kafka_bootstrap, topic_namespace)
                return letters if len(letters) == 2 else []

            letters = await eventually(two_letters, timeout=30)
            assert {letter.error for letter in letters} == {
                "ValueError: probe -1 refused",
                "ValueError: probe -3 refused",
            }
            assert {letter.consumer for letter in letters} == {"kit-consumer"}
            assert all(letter.original_topic == Topic.NOTIFICATIONS for letter in letters)

            REFUSED.clear()  # the bug is fixed
            rehearsal = await redrive(kafka_bootstrap, topic_namespace, dry_run=True)
            assert [letter.key for letter in rehearsal.redriven] == [str(second).encode()]
            [(skipped, reason)] = rehearsal.skipped
            assert skipped.key == str(first).encode() and "later event" in reason

            report = await redrive(kafka_bootstrap, topic_namespace)
            assert [letter.event_id for letter in report.redriven] == [letters_by_key(letters)[second].event_id]
            assert await eventually(lambda: count(consumer, effects, effects.c.value == -3), timeout=60) == 1
            assert await count(consumer, effects, effects.c.value == -1) == 0  # never applied after its later event

            again = await redrive(kafka_bootstrap, topic_namespace)
            assert (again.redriven, again.skipped) == ([], [])  # what was handled is not handled twice

            listed = await asyncio.to_thread(
                CliRunner().invoke,
                app,
                ["dlq", "list"],
                env={"MEETMALMO_KAFKA_BOOTSTRAP": kafka_bootstrap, "MEETMALMO_TOPIC_NAMESPACE": topic_namespace},
            )
            assert listed.exit_code == 0, listed.output
            lines = [json.loads(line) for line in listed.stdout.splitlines() if line.startswith("{")]
            assert len(lines) == 2 and all("payload" not in line and "value" not in line for line in lines)
    finally:
        REFUSED.clear()
    assert await count(consumer, effects, effects.c.probe_id == second) == 1  # applied once


def letters_by_key(letters: list[DeadLetter]) -> dict[uuid.UUID, DeadLetter]:
    return {uuid.UUID((letter.key or b"").decode()): letter for letter in letters}


def dead_letter(**headers: Any) -> DeadLetter:
    return DeadLetter("meetmalmo.groups.v1.dlq", 0, 0, b"k", b"{}", {"dlq-consumer": "c", **headers})


def test_a_dead_letter_older_than_the_processed_marks_or_without_its_origin_is_not_redriven() -> None:
    now = datetime.now(UTC)
    origin = {"dlq-original-partition": "0", "dlq-original-offset": "5"}
    old = dead_letter(**origin, **{"dlq-failed-at": (now - timedelta(days=20)).isoformat()})
    assert "processed marks" in (_why_not(old, {}, set(), timedelta(days=14), now) or "")
    assert "dlq-original-offset" in (_why_not(dead_letter(), {}, set(), timedelta(days=14), now) or "")
    recent = dead_letter(**origin, **{"dlq-failed-at": now.isoformat()})
    assert _why_not(recent, {(0, b"k"): [(3, "a"), (5, "self")]}, set(), timedelta(days=14), now) is None
    # A later event of the key that is itself a dead letter of the same consumer was not applied either.
    assert _why_not(recent, {(0, b"k"): [(7, "later")]}, {("c", "later")}, timedelta(days=14), now) is None
    assert _why_not(recent, {(0, b"k"): [(7, "later")]}, set(), timedelta(days=14), now) is not None
