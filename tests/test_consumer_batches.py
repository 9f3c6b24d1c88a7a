"""Batched consumption: a polled batch is applied in one transaction with a savepoint per event, its marks
in one statement and ONE offset commit after; a bad event in the middle goes to the DLQ without undoing
its neighbours; an outage hands back only the records still to do. On real PostgreSQL (savepoints), and
through real Kafka for the offsets."""

from __future__ import annotations

import asyncio
import gc
import uuid
from collections.abc import AsyncIterator, Awaitable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared import inbox
from shared.broker import consume_batch
from shared.contracts import Envelope, Topic
from shared.db import create_engine
from shared.dlq import commit_offsets
from shared.inbox import IdempotentConsumer, Record, Redeliver
from shared.jobs import Backoff
from shared.outbox import Outbox
from shared.service import Infrastructure
from shared.testing import create_database, drop_database, eventually
from shared.unit_of_work import UnitOfWork
from tests.test_messaging_through_kafka import (
    ProbeRecorded,
    apply_probe,
    bus,
    count,
    effects,
    infrastructure,
    metadata,
    outbox,
    processed,
    uow_factory,
)

pytestmark = pytest.mark.integration

TOPIC = Topic.NOTIFICATIONS.value
UNREACHABLE = 99  # a probe whose handler finds its database away, for as long as the test likes


async def apply_or_refuse(event: ProbeRecorded, uow: UnitOfWork, _: Envelope) -> None:
    # The effect is written before the refusal: the savepoint must take it back.
    await uow.session.execute(insert(effects).values(probe_id=event.probe_id, value=event.value))
    if event.value == UNREACHABLE:
        raise ConnectionRefusedError(111, "Connection refused")
    if event.value < 0:
        raise ValueError("negative probes are refused")


@pytest.fixture
async def sessions(postgres_server: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    url = await create_database(postgres_server, "batches")
    engine = create_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    yield async_sessionmaker(engine, expire_on_commit=False)
    await engine.dispose()
    await drop_database(url)


@dataclass
class DeadLetters:
    values: list[int] = field(default_factory=list)

    async def __call__(self, topic: str, key: bytes, value: bytes, headers: Mapping[str, str]) -> Awaitable[Any]:
        assert topic == TOPIC + ".dlq" and headers["dlq-error-type"] == "ValueError"
        self.values.append(int(Envelope.model_validate_json(value).payload["value"]))
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


def probe_consumer(
    sessions: async_sessionmaker[AsyncSession], dead: DeadLetters, hold_seconds: float = 60.0
) -> IdempotentConsumer[UnitOfWork]:
    return IdempotentConsumer(
        "probe",
        lambda: UnitOfWork(sessions, Outbox(outbox, "probe")),
        processed,
        {ProbeRecorded: apply_or_refuse},
        dead,
        max_attempts=2,
        backoff_seconds=0.0,
        outage_backoff=Backoff(0.01, 0.01),
        hold_seconds=hold_seconds,
    )


@dataclass(frozen=True)
class KafkaRecord:  # what aiokafka's ConsumerRecord gives the subscriber
    topic: str
    partition: int
    offset: int
    key: bytes
    value: bytes


def records_of(*values: int, partition: int = 0) -> list[KafkaRecord]:
    return [
        KafkaRecord(TOPIC, partition, offset, b"k",
                    Envelope.wrap(ProbeRecorded(probe_id=uuid.uuid4(), value=value), producer="t").model_dump_json()
                    .encode())
        for offset, value in enumerate(values)
    ]  # fmt: skip


@dataclass
class FakeKafka:
    commits: list[dict[TopicPartition, int]] = field(default_factory=list)
    seeks: list[tuple[TopicPartition, int]] = field(default_factory=list)

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        self.commits.append(offsets)

    def seek(self, partition: TopicPartition, offset: int) -> None:
        self.seeks.append((partition, offset))


@dataclass
class BatchMessage:  # FastStream's message for a batch subscriber, as consume_batch reads it
    raw_message: tuple[KafkaRecord, ...]
    consumer: FakeKafka = field(default_factory=FakeKafka)
    acks: int = 0
    nacks: int = 0

    @property
    def batch_headers(self) -> list[dict[str, str]]:
        return [{"content-type": "application/json"} for _ in self.raw_message]

    async def ack(self) -> None:
        self.acks += 1

    async def nack(self) -> None:
        self.nacks += 1


async def applied_values(sessions: async_sessionmaker[AsyncSession]) -> list[int]:
    async with sessions() as session:
        return sorted((await session.scalars(select(effects.c.value))).all())


async def marks(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(processed)) or 0)


async def test_a_poison_event_in_the_middle_of_a_batch_goes_to_the_dlq_its_neighbours_commit_and_one_ack_follows(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    dead = DeadLetters()
    message = BatchMessage(tuple(records_of(1, 2, -3, 4, 5)))
    await consume_batch(probe_consumer(sessions, dead), message)
    assert await applied_values(sessions) == [1, 2, 4, 5]  # the poison's own write was taken back
    assert dead.values == [-3]
    assert await marks(sessions) == 4  # a dead letter has no mark: a redrive applies it
    assert (message.acks, message.nacks, message.consumer.commits) == (1, 0, [])


async def test_a_batch_delivered_again_changes_nothing(sessions: async_sessionmaker[AsyncSession]) -> None:
    consumer = probe_consumer(sessions, DeadLetters())
    batch = tuple(records_of(*range(1, 51)))
    await consume_batch(consumer, BatchMessage(batch))
    await consume_batch(consumer, BatchMessage(batch))
    assert await applied_values(sessions) == list(range(1, 51))
    assert await marks(sessions) == 50


async def test_the_same_event_twice_in_one_batch_is_applied_once(sessions: async_sessionmaker[AsyncSession]) -> None:
    [first, second] = records_of(7, 8)
    again = KafkaRecord(TOPIC, 0, 2, first.key, first.value)
    await consume_batch(probe_consumer(sessions, DeadLetters()), BatchMessage((first, second, again)))
    assert await applied_values(sessions) == [7, 8]


async def test_an_outage_that_outlasts_the_hold_commits_what_was_done_and_seeks_back_to_what_is_left(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    dead = DeadLetters()
    message = BatchMessage(tuple(records_of(1, -2, 3, UNREACHABLE, 5)))
    await consume_batch(probe_consumer(sessions, dead, hold_seconds=0.3), message)
    # 1 committed alone, -2 dead-lettered, then 3, 99 and 5 share a transaction the outage rolled back.
    assert await applied_values(sessions) == [1]
    assert dead.values == [-2]
    tp = TopicPartition(TOPIC, 0)
    assert message.consumer.commits == [{tp: 2}]  # up to (not including) the first record left to do
    assert message.consumer.seeks == [(tp, 2)]
    assert (message.acks, message.nacks) == (0, 0)


async def test_redeliver_names_the_records_left_when_a_single_record_waits_for_its_database(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    consumer = probe_consumer(sessions, DeadLetters(), hold_seconds=0.2)
    [record] = records_of(UNREACHABLE)
    with pytest.raises(Redeliver) as redeliver:
        await consumer.handle_batch([Record(record.topic, record.key, record.value, {}, 0, 0)])
    assert [r.offset for r in redeliver.value.remaining] == [0]


# Through real Kafka: offsets committed once per batch, and a replay of the topic changes nothing.

N = 300


async def committed(bootstrap: str, group: str) -> int:
    """The group's committed offsets, summed; 0 while the broker cannot name its coordinator yet (a fresh
    broker creates its offsets topic on the first group's request), so that `eventually` asks again."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    except KafkaError as error:
        if not error.retriable:
            raise
        return 0
    finally:
        await admin.close()
    return sum(meta.offset for meta in offsets.values() if meta.offset > 0)


@pytest.fixture
async def two_databases(postgres_server: str) -> AsyncIterator[tuple[str, str]]:
    urls = [
        await create_database(postgres_server, "batch_producer"),
        await create_database(postgres_server, "batch_consumer"),
    ]
    for url in urls:
        engine = create_engine(url)
        async with engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
        await engine.dispose()
    yield urls[0], urls[1]
    for url in urls:
        await drop_database(url)


def consuming(database_url: str, bootstrap: str, namespace: str) -> Infrastructure:
    infra = infrastructure("batch-consumer", database_url, bootstrap, namespace)
    infra.consume("batch-consumer", {Topic.NOTIFICATIONS: {ProbeRecorded: apply_probe}}, bus(infra))
    return infra


async def test_a_batch_of_events_through_kafka_has_each_effect_once_with_few_offset_commits_and_a_replay_adds_none(
    two_databases: tuple[str, str], kafka_bootstrap: str, topic_namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    producer = infrastructure("batch-producer", two_databases[0], kafka_bootstrap, topic_namespace)
    async with producer.running():
        async with uow_factory(producer)() as uow:
            for value in range(N):
                await uow.emit(ProbeRecorded(probe_id=uuid.uuid4(), value=value))
            await uow.commit()
        assert await eventually(lambda: _none_pending(producer), timeout=60)

    commits: list[Any] = []
    original = AIOKafkaConsumer.commit

    async def counted(self: AIOKafkaConsumer, offsets: Any = None) -> None:
        commits.append(offsets)
        await original(self, offsets)

    monkeypatch.setattr(AIOKafkaConsumer, "commit", counted)  # an instrument on the real client, not a fake
    group = topic_namespace + "batch-consumer"
    consumer = consuming(two_databases[1], kafka_bootstrap, topic_namespace)
    async with consumer.running():
        assert await eventually(lambda: _at_least(committed(kafka_bootstrap, group), N), timeout=60)
    assert await count(consumer, effects) == N and await count(consumer, processed) == N
    assert 1 <= len(commits) <= N // 20  # one per polled batch, not one per record

    # The whole topic again (a group reset to the start): every event finds its mark.
    partitions = [TopicPartition(topic_namespace + TOPIC, p) for p in range(3)]
    await commit_offsets(kafka_bootstrap, group, dict.fromkeys(partitions, 0))
    again = consuming(two_databases[1], kafka_bootstrap, topic_namespace)
    async with again.running():
        assert await eventually(lambda: _at_least(committed(kafka_bootstrap, group), N), timeout=60)
    assert await count(again, effects) == N and await count(again, processed) == N


async def _none_pending(infra: Infrastructure) -> bool:
    return await infra.relay.pending_count() == 0


async def _at_least(value: Awaitable[int], target: int) -> bool:
    return await value >= target


async def test_the_garbage_collector_waits_while_any_batch_is_applied_and_runs_again_after_the_last_even_a_failed_one(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    seen: list[bool] = []
    gate = asyncio.Event()

    async def apply_when_let(event: ProbeRecorded, uow: UnitOfWork, envelope: Envelope) -> None:
        seen.append(gc.isenabled())
        if event.value == 1:
            await gate.wait()  # the first batch is still applying while the second one ends
        await apply_or_refuse(event, uow, envelope)

    def consumer(hold_seconds: float = 60.0) -> IdempotentConsumer[UnitOfWork]:
        return IdempotentConsumer(
            "probe", lambda: UnitOfWork(sessions, Outbox(outbox, "probe")), processed, {ProbeRecorded: apply_when_let},
            DeadLetters(), max_attempts=2, backoff_seconds=0.0, outage_backoff=Backoff(0.01, 0.01),
            hold_seconds=hold_seconds,
        )  # fmt: skip

    assert gc.isenabled()
    first = asyncio.create_task(consume_batch(consumer(), BatchMessage(tuple(records_of(1)))))
    await eventually(lambda: seen == [False])
    await consume_batch(consumer(), BatchMessage(tuple(records_of(2, -3, 4, partition=1))))
    assert not gc.isenabled()  # the first batch is not done
    gate.set()
    await first
    assert gc.isenabled()
    assert seen and not any(seen) and await applied_values(sessions) == [1, 2, 4]

    await consume_batch(consumer(hold_seconds=0.2), BatchMessage(tuple(records_of(UNREACHABLE))))  # Redeliver
    assert gc.isenabled()


def test_batches_that_keep_overlapping_still_let_the_collector_run_once_per_its_longest_pause(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A busy process may never be without a batch applying: the collector must not wait forever then."""
    collections: list[int] = []

    def watch(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            collections.append(info["generation"])

    monkeypatch.setattr(inbox, "MAX_COLLECTOR_PAUSE", 0.0)
    gc.callbacks.append(watch)
    try:
        with inbox.collector_paused():  # a long batch
            with inbox.collector_paused():  # another one, ending while the first still applies
                assert not gc.isenabled()
            assert collections == [2], "one full collection once the pause lasted too long"
            assert not gc.isenabled()
        assert gc.isenabled()
    finally:
        gc.callbacks.remove(watch)
    monkeypatch.setattr(inbox, "MAX_COLLECTOR_PAUSE", 3600.0)
    collections.clear()
    gc.callbacks.append(watch)
    try:
        with inbox.collector_paused():
            with inbox.collector_paused():
                pass
            assert collections == [], "within the pause: nothing collected while a batch applies"
    finally:
        gc.callbacks.remove(watch)
