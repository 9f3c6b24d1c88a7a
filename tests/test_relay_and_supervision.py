"""The outbox relay when some rows fail, the supervisor of background tasks, readiness, the processed
marks' purge, and errors told apart (outage or bad message) and described without personal data.
On SQLite files and fakes of the broker: no Kafka needed."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiokafka import errors as kafka_errors
from pydantic import BaseModel, ValidationError
from sqlalchemy import Column, MetaData, String, Table, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from shared.contracts import Envelope
from shared.db import create_engine, utcnow
from shared.inbox import IdempotentConsumer, define_processed_events_table, purge_processed_events
from shared.jobs import Backoff, Supervisor
from shared.outages import describe_error, is_infrastructure_error
from shared.outbox import Outbox, OutboxRelay, PublishFailed, define_outbox_table
from shared.service import Infrastructure
from shared.settings import PlatformSettings, ServiceSettings
from shared.testing import eventually
from shared.unit_of_work import UnitOfWork
from tests.json_logs import json_logs
from tests.test_messaging_through_kafka import ProbeRecorded

metadata = MetaData()
outbox = define_outbox_table(metadata)
processed = define_processed_events_table(metadata)
people = Table("people", metadata, Column("email", String(100), primary_key=True))


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'relay.db'}")
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    yield async_sessionmaker(engine, expire_on_commit=False)
    await engine.dispose()


async def add_probes(sessions: async_sessionmaker[AsyncSession], *values: int) -> None:
    writer = Outbox(outbox, "probe")
    async with sessions() as session, session.begin():
        for value in values:
            await writer.add(session, ProbeRecorded(probe_id=uuid.uuid4(), value=value))


def value_of(envelope: bytes) -> int:
    return int(Envelope.model_validate_json(envelope).payload["value"])


class FakeBroker:
    """Records what was published; `refuse(value)` makes a value's send fail at once, `drop_ack(value)`
    makes the broker's acknowledgement of that value fail the next time only."""

    def __init__(self) -> None:
        self.published: list[int] = []
        self.refused: dict[int, BaseException] = {}
        self.dropped: dict[int, BaseException] = {}

    async def publish(self, topic: str, key: bytes, value: bytes, headers: Mapping[str, str]) -> Awaitable[Any]:
        probe = value_of(value)
        if probe in self.refused:
            raise self.refused[probe]
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if probe in self.dropped:
            future.set_exception(self.dropped.pop(probe))
        else:
            self.published.append(probe)
            future.set_result(None)
        return future


async def states(sessions: async_sessionmaker[AsyncSession]) -> dict[int, str]:
    async with sessions() as session:
        rows = (await session.execute(select(outbox.c.envelope, outbox.c.published_at, outbox.c.quarantined_at))).all()
    return {
        value_of(row.envelope.encode()): "quarantined"
        if row.quarantined_at
        else "published"
        if row.published_at
        else "pending"
        for row in rows
    }


async def test_a_row_the_broker_can_never_take_is_quarantined_and_the_rows_after_it_go_out(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    broker = FakeBroker()
    broker.refused[2] = kafka_errors.MessageSizeTooLargeError("The message is 2000000 bytes when serialized")
    await add_probes(sessions, 1, 2, 3)
    relay = OutboxRelay(sessions, outbox, broker.publish)

    with json_logs() as lines:
        assert await relay.publish_pending() == 3
        assert await relay.publish_pending() == 0  # the quarantined row is not tried again
        logs = lines()

    assert broker.published == [1, 3]
    assert await states(sessions) == {1: "published", 2: "quarantined", 3: "published"}
    assert await relay.pending_count() == 0 and await relay.quarantined_count() == 1
    assert relay.quarantined_total == 1
    [alert] = [entry for entry in logs if entry["event"] == "outbox.quarantined"]
    assert alert["level"] == "error" and alert["error_type"] == "MessageSizeTooLargeError"
    async with sessions() as session:
        failure = await session.scalar(select(outbox.c.failure).where(outbox.c.quarantined_at.is_not(None)))
    assert failure is not None and failure.startswith("MessageSizeTooLargeError")


async def test_events_emitted_together_are_written_in_one_go_and_published_in_their_order(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    broker = FakeBroker()
    woken: list[bool] = []
    async with UnitOfWork(sessions, Outbox(outbox, "probe"), lambda: woken.append(True)) as uow:
        assert await uow.emit_many([]) == []
        envelopes = await uow.emit_many([ProbeRecorded(probe_id=uuid.uuid4(), value=v) for v in (3, 1, 2)])
        await uow.commit()

    assert woken == [True]  # the commit wakes the relay
    assert await OutboxRelay(sessions, outbox, broker.publish).publish_pending() == 3
    assert broker.published == [3, 1, 2]
    async with sessions() as session:
        rows = (await session.execute(select(outbox.c.event_id, outbox.c.headers).order_by(outbox.c.id))).all()
    assert [row.event_id for row in rows] == [envelope.event_id for envelope in envelopes]
    assert all(row.headers["content-type"] == "application/json" for row in rows)


async def test_a_retry_never_publishes_again_the_rows_the_broker_already_acknowledged(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    broker = FakeBroker()
    broker.dropped[2] = kafka_errors.KafkaConnectionError("broker away")  # a transient failure, this time only
    await add_probes(sessions, 1, 2, 3)
    relay = OutboxRelay(sessions, outbox, broker.publish)

    with pytest.raises(PublishFailed):
        await relay.publish_pending()
    assert await states(sessions) == {1: "published", 2: "pending", 3: "published"}
    assert await relay.publish_pending() == 1
    assert broker.published == [1, 3, 2]  # each once


async def test_the_relay_keeps_publishing_when_purging_old_rows_fails(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    broker = FakeBroker()
    relay = OutboxRelay(sessions, outbox, broker.publish, poll_seconds=0.05)
    relay._last_purge = utcnow() - timedelta(hours=2)  # a purge is due

    async def failing_purge() -> None:
        raise ConnectionError("database away for the purge")

    relay.purge_published = failing_purge  # type: ignore[method-assign]
    task = asyncio.create_task(relay.run())
    try:
        await add_probes(sessions, 1)
        await eventually(lambda: broker.published == [1], timeout=10)
        await add_probes(sessions, 2)
        await eventually(lambda: broker.published == [1, 2], timeout=10)
        assert not task.done()
    finally:
        task.cancel()


async def test_the_oldest_pending_age_counts_only_rows_still_waiting(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    relay = OutboxRelay(sessions, outbox, FakeBroker().publish)
    assert await relay.oldest_pending_age() == 0.0
    await add_probes(sessions, 1)
    async with sessions() as session, session.begin():
        await session.execute(update(outbox).values(created_at=utcnow() - timedelta(minutes=10)))
    assert 590 < await relay.oldest_pending_age() < 700
    await relay.publish_pending()
    assert await relay.oldest_pending_age() == 0.0


# --- supervision and readiness ----------------------------------------------------------------------


async def test_a_background_task_that_dies_is_logged_restarted_and_reported_meanwhile() -> None:
    runs = 0
    release = asyncio.Event()

    async def flaky() -> None:
        nonlocal runs
        runs += 1
        if runs == 1:
            raise RuntimeError("the relay fell over")
        await release.wait()  # the second run stays up

    supervisor = Supervisor(Backoff(0.2, 0.2))
    with json_logs() as lines:
        supervisor.start("outbox-relay", flaky)
        await eventually(lambda: supervisor.health["outbox-relay"].restarts == 1, timeout=5)
        assert not supervisor.health["outbox-relay"].healthy  # during the backoff readiness says so
        await eventually(lambda: runs == 2 and supervisor.health["outbox-relay"].healthy, timeout=5)
        await supervisor.stop()
        logs = lines()
    [died] = [entry for entry in logs if entry["event"] == "task.died"]
    assert died["task"] == "outbox-relay" and "the relay fell over" in died["error"]


async def test_a_task_meant_to_run_forever_that_returns_is_restarted_too() -> None:
    runs = 0

    async def returns_early() -> None:
        nonlocal runs
        runs += 1

    supervisor = Supervisor(Backoff(0.01, 0.01))
    supervisor.start("sweep", returns_early)
    await eventually(lambda: runs >= 3, timeout=5)
    await supervisor.stop()
    assert supervisor.health["sweep"].last_error is not None


async def test_readiness_names_a_dead_relay_and_an_outbox_row_older_than_the_threshold(tmp_path: Path) -> None:
    settings = ServiceSettings(
        service_name="probe",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'probe.db'}",
        platform=PlatformSettings(kafka_bootstrap="127.0.0.1:1", outbox_max_age_seconds=60),
    )
    infra = Infrastructure.build(settings, metadata)
    async with infra.engine.begin() as connection:
        await connection.run_sync(metadata.create_all)

    async def dead_relay() -> None:
        raise RuntimeError("relay died")

    infra._relay_when = lambda connected: dead_relay()  # type: ignore[method-assign]
    infra.supervisor = Supervisor(Backoff(60, 60))  # restarted in a minute: meanwhile it is dead
    async with infra.running():
        await eventually(lambda: infra.supervisor.health["outbox-relay"].restarts == 1, timeout=5)
        await add_probes(infra.session_factory, 1)
        async with infra.session_factory() as session, session.begin():
            await session.execute(update(outbox).values(created_at=utcnow() - timedelta(minutes=5)))
        checks = await infra.readiness()
        assert checks["task:outbox-relay"] is False
        assert checks["outbox"] is False  # its oldest row waits longer than 60 s
        assert infra.task_problems()["outbox-relay"] == "RuntimeError: relay died"


# --- the processed marks' purge ---------------------------------------------------------------------


async def test_processed_marks_older_than_the_retention_are_purged_and_younger_ones_kept(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    old, young = uuid.uuid4(), uuid.uuid4()
    async with sessions() as session, session.begin():
        for event_id, age in ((old, timedelta(days=15)), (young, timedelta(days=1))):
            await session.execute(
                insert(processed).values(
                    consumer="c", event_id=event_id, event_type="ProbeRecorded", processed_at=utcnow() - age
                )
            )
    assert await purge_processed_events(sessions, processed, timedelta(days=14)) == 1
    async with sessions() as session:
        assert list(await session.scalars(select(processed.c.event_id))) == [young]


# --- outage or bad message; errors without personal data ---------------------------------------------


async def integrity_error(sessions: async_sessionmaker[AsyncSession]) -> IntegrityError:
    async with sessions() as session:
        await session.execute(insert(people).values(email="anna.andersson@acme.example"))
        try:
            await session.execute(insert(people).values(email="anna.andersson@acme.example"))
        except IntegrityError as exc:
            return exc
    raise AssertionError("the second insert should have failed")


async def test_an_error_is_described_without_its_sql_parameters_or_input_values(tmp_path: Path) -> None:
    # An engine that shows its parameters (shared.db's hide them too): the description must not need that.
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'shown.db'}")
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    error = await integrity_error(async_sessionmaker(engine))
    await engine.dispose()
    assert "anna.andersson" in str(error)  # what str() would have put in the header and the logs
    described = describe_error(error)
    assert "anna" not in described and "INSERT" not in described and "IntegrityError" in described

    class Person(BaseModel):
        age: int

    with pytest.raises(ValidationError) as invalid:
        Person.model_validate({"age": "anna.andersson@acme.example"})
    assert "anna" not in describe_error(invalid.value) and "age" in describe_error(invalid.value)


async def test_outages_are_told_apart_from_bad_messages(sessions: async_sessionmaker[AsyncSession]) -> None:
    assert is_infrastructure_error(ConnectionRefusedError(111, "Connection refused"))
    assert is_infrastructure_error(kafka_errors.KafkaConnectionError("broker away"))
    try:
        try:
            raise ConnectionResetError(104, "Connection reset by peer")
        except ConnectionResetError as inner:
            raise RuntimeError("while committing") from inner
    except RuntimeError as wrapped:
        assert is_infrastructure_error(wrapped)  # by what caused it
    assert is_infrastructure_error(OSError("Multiple exceptions: [Errno 111] Connect call failed ('::1', 5432)"))
    assert not is_infrastructure_error(FileNotFoundError(2, "No such file or directory"))  # a bug: it counts
    assert not is_infrastructure_error(ValueError("negative probes are refused"))
    assert not is_infrastructure_error(await integrity_error(sessions))


async def test_the_dead_letter_header_carries_the_error_without_sql_parameters(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    dead: list[Mapping[str, str]] = []

    async def dead_letter(topic: str, key: bytes, value: bytes, headers: Mapping[str, str]) -> Awaitable[Any]:
        dead.append(headers)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done

    async def store_twice(event: ProbeRecorded, uow: UnitOfWork, _: Envelope) -> None:
        await uow.session.execute(insert(people).values(email="anna.andersson@acme.example"))
        await uow.session.execute(insert(people).values(email="anna.andersson@acme.example"))

    consumer: IdempotentConsumer[UnitOfWork] = IdempotentConsumer(
        "probe",
        lambda: UnitOfWork(sessions, Outbox(outbox, "probe")),
        processed,
        {ProbeRecorded: store_twice},
        dead_letter,
        max_attempts=2,
        backoff_seconds=0.0,
    )
    envelope = Envelope.wrap(ProbeRecorded(probe_id=uuid.uuid4(), value=1), producer="probe")
    await consumer.handle_record("meetmalmo.notifications.v1", b"k", envelope.model_dump_json().encode(), {})
    [headers] = dead
    assert headers["dlq-error-type"] == "IntegrityError"
    assert "anna" not in headers["dlq-error"] and "INSERT" not in headers["dlq-error"]


async def test_two_relays_on_one_sqlite_file_never_publish_at_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    broker, release = FakeBroker(), asyncio.Event()
    entered = asyncio.Event()

    async def slow_publish(topic: str, key: bytes, value: bytes, headers: Mapping[str, str]) -> Awaitable[Any]:
        entered.set()
        await release.wait()  # the first relay is mid-batch ...
        return await broker.publish(topic, key, value, headers)

    await add_probes(sessions, 1, 2)
    first = OutboxRelay(sessions, outbox, slow_publish)
    second = OutboxRelay(sessions, outbox, broker.publish)  # as another process on the same file would be
    busy = asyncio.create_task(first.publish_pending())
    await entered.wait()
    assert await second.publish_pending() == 0  # ... so the second one waits its turn
    release.set()
    assert await busy == 2
    assert await second.publish_pending() == 0 and broker.published == [1, 2]  # each once
