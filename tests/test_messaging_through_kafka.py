"""The messaging kit on the real parts: PostgreSQL outbox -> Kafka -> idempotent consumer (and DLQ)."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator
from typing import Any, ClassVar

import pytest
from aiokafka import AIOKafkaProducer
from opentelemetry import trace
from sqlalchemy import Column, Integer, MetaData, Table, Uuid, func, insert, select, update

from shared.contracts import Envelope, Event, Topic, dead_letter_topic
from shared.inbox import define_processed_events_table
from shared.messagebus import MessageBus
from shared.outbox import define_outbox_table
from shared.service import Infrastructure
from shared.settings import PROJECT_ROOT, PlatformSettings, ServiceSettings
from shared.testing import create_database, drop_database, eventually, read_records, restartable_port
from shared.tracing import configure_tracing
from shared.unit_of_work import UnitOfWork

pytestmark = pytest.mark.integration

metadata = MetaData()
outbox = define_outbox_table(metadata)
processed = define_processed_events_table(metadata)
effects = Table("effects", metadata, Column("probe_id", Uuid), Column("value", Integer))


class ProbeRecorded(Event):
    """A test-only event."""

    topic: ClassVar[Topic] = Topic.NOTIFICATIONS
    key_field: ClassVar[str] = "probe_id"
    probe_id: uuid.UUID
    value: int


async def apply_probe(event: ProbeRecorded, uow: UnitOfWork, _: Envelope) -> None:
    if event.value < 0:
        raise ValueError("negative probes are refused")
    await uow.session.execute(insert(effects).values(probe_id=event.probe_id, value=event.value))


def infrastructure(name: str, database_url: str, bootstrap: str, namespace: str) -> Infrastructure:
    platform = PlatformSettings(
        kafka_bootstrap=bootstrap, topic_namespace=namespace, consumer_max_attempts=3, consumer_backoff_seconds=0.01
    )
    settings = ServiceSettings(service_name=name, database_url=database_url, platform=platform)
    return Infrastructure.build(settings, metadata)


def uow_factory(infra: Infrastructure) -> Any:
    return lambda: UnitOfWork(infra.session_factory, infra.outbox, infra.relay.wake)


def bus(infra: Infrastructure) -> MessageBus[UnitOfWork]:
    return MessageBus(uow_factory(infra), {}, {})


@pytest.fixture
async def databases(postgres_server: str) -> AsyncIterator[tuple[str, str]]:
    urls = [
        await create_database(postgres_server, "kit_producer"),
        await create_database(postgres_server, "kit_consumer"),
    ]
    for url in urls:
        infra_engine = infrastructure("setup", url, "127.0.0.1:1", "").engine
        async with infra_engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
        await infra_engine.dispose()
    yield urls[0], urls[1]
    for url in urls:
        await drop_database(url)


async def count(infra: Infrastructure, table: Table, *where: Any) -> int:
    async with infra.session_factory() as session:
        return int(await session.scalar(select(func.count()).select_from(table).where(*where)) or 0)


async def record_probe(infra: Infrastructure, probe_id: uuid.UUID, value: int) -> str:
    """Commit a probe event inside a span; returns the span's trace id."""
    configure_tracing("kit-test")
    with trace.get_tracer(__name__).start_as_current_span("record probe") as span:
        async with uow_factory(infra)() as uow:
            await uow.emit(ProbeRecorded(probe_id=probe_id, value=value))
            await uow.commit()
        return format(span.get_span_context().trace_id, "032x")


@pytest.fixture
def kit(
    databases: tuple[str, str], kafka_bootstrap: str, topic_namespace: str
) -> tuple[Infrastructure, Infrastructure]:
    """A producing service and a consuming one, each on its own database, on this test's topics."""
    producer = infrastructure("kit-producer", databases[0], kafka_bootstrap, topic_namespace)
    consumer = infrastructure("kit-consumer", databases[1], kafka_bootstrap, topic_namespace)
    consumer.consume("kit-consumer", {Topic.NOTIFICATIONS: {ProbeRecorded: apply_probe}}, bus(consumer))
    return producer, consumer


async def test_an_event_delivered_twice_is_applied_once(
    kit: tuple[Infrastructure, Infrastructure], kafka_bootstrap: str, topic_namespace: str
) -> None:
    producer, consumer = kit
    probe = uuid.uuid4()

    async with producer.running(), consumer.running():
        trace_id = await record_probe(producer, probe, 1)
        assert await eventually(lambda: count(consumer, effects, effects.c.value == 1)) == 1

        # Deliver the same event again, as a relay that crashed before marking it sent would.
        async with producer.session_factory() as session, session.begin():
            await session.execute(update(outbox).values(published_at=None))
        producer.relay.wake()
        # A later event on the same key comes after the duplicate: once applied, the duplicate was handled.
        await record_probe(producer, probe, 2)
        await eventually(lambda: count(consumer, effects, effects.c.value == 2))

        topic = topic_namespace + Topic.NOTIFICATIONS
        records = await read_records(kafka_bootstrap, topic, until=lambda rs: len(rs) >= 3)
        event_ids = [r.json()["event_id"] for r in records]
        assert len(event_ids) == 3 and len(set(event_ids)) == 2  # the first event was on the topic twice
        assert await count(consumer, effects, effects.c.probe_id == probe) == 2  # ... and applied once
        assert await count(consumer, processed) == 2
        envelope = Envelope.model_validate_json(records[0].value)
        assert envelope.event_type == "ProbeRecorded" and envelope.producer == "kit-producer"
        assert records[0].key == str(probe).encode()
        assert trace_id in records[0].headers["traceparent"]  # W3C trace context travels in the headers


async def test_poison_messages_go_to_the_dead_letter_topic_and_the_next_message_is_processed(
    kit: tuple[Infrastructure, Infrastructure], kafka_bootstrap: str, topic_namespace: str
) -> None:
    producer, consumer = kit
    probe = uuid.uuid4()
    topic = topic_namespace + Topic.NOTIFICATIONS

    async with producer.running(), consumer.running():
        await eventually(lambda: producer.broker.running)
        raw = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
        await raw.start()
        try:
            await raw.send_and_wait(topic, b"{this is not json", key=str(probe).encode())
        finally:
            await raw.stop()
        await record_probe(producer, probe, -1)  # valid, but the handler refuses it every time
        await record_probe(producer, probe, 3)

        assert await eventually(lambda: count(consumer, effects, effects.c.value == 3)) == 1
        dead = await read_records(kafka_bootstrap, dead_letter_topic(topic), until=lambda rs: len(rs) >= 2)
        assert dead[0].value == b"{this is not json"
        assert dead[0].headers["dlq-error-type"] == "ValidationError"
        assert dead[0].headers["dlq-original-topic"] == Topic.NOTIFICATIONS
        assert Envelope.model_validate_json(dead[1].value).payload["value"] == -1
        assert dead[1].headers["dlq-error"] == "negative probes are refused"
        assert dead[1].headers["dlq-consumer"] == "kit-consumer"
        assert await count(consumer, effects) == 1


def _kafka(script: str, bootstrap: str) -> None:
    subprocess.run(
        ["bash", f"deploy/kafka/{script}.sh"],
        check=True,
        env={**os.environ, "MEETMALMO_KAFKA_BOOTSTRAP": bootstrap},
        timeout=240,
    )


async def test_changes_committed_while_the_broker_is_away_are_published_when_it_returns(
    databases: tuple[str, str], topic_namespace: str
) -> None:
    port = restartable_port()  # a broker of this test's own (controller on port + 1), so it can be stopped and started
    bootstrap = f"127.0.0.1:{port}"
    producer = infrastructure("kit-producer", databases[0], bootstrap, topic_namespace)
    topic = topic_namespace + Topic.NOTIFICATIONS
    probe = uuid.uuid4()  # one aggregate: its events keep their order on one partition
    try:
        async with producer.running():
            # The broker has never been up: the change commits and waits in the outbox.
            await record_probe(producer, probe, 1)
            await asyncio.sleep(1)
            assert await producer.relay.pending_count() == 1

            await asyncio.to_thread(_kafka, "up", bootstrap)
            await eventually(lambda: _nothing_pending(producer), timeout=90)
            await read_records(bootstrap, topic, until=lambda rs: len(rs) == 1, timeout=60)

            # The broker goes away after the relay has been publishing, and comes back.
            await asyncio.to_thread(_kafka, "down", bootstrap)
            await record_probe(producer, probe, 2)
            await asyncio.sleep(1)
            assert await producer.relay.pending_count() == 1
            await asyncio.to_thread(_kafka, "up", bootstrap)
            records = await read_records(bootstrap, topic, until=lambda rs: len(rs) >= 2, timeout=120)
            assert [r.json()["payload"]["value"] for r in records] == [1, 2]
            assert await eventually(lambda: _nothing_pending(producer), timeout=30)

            # The broker goes away with a record in the client's hands, and the service is stopped meanwhile:
            # stopping does not wait for a broker that is not there (before, it waited forever) ...
            await asyncio.to_thread(_kafka, "down", bootstrap)
            await record_probe(producer, probe, 3)
            await asyncio.sleep(2)
            stopping = asyncio.get_running_loop().time()
        assert asyncio.get_running_loop().time() - stopping < 60, "stopping waited for the broker"
        # ... and the record is not lost: the service started again publishes it once the broker is back.
        restarted = infrastructure("kit-producer", databases[0], bootstrap, topic_namespace)
        async with restarted.running():
            await asyncio.to_thread(_kafka, "up", bootstrap)
            records = await read_records(bootstrap, topic, until=lambda rs: len(rs) >= 3, timeout=120)
            assert [r.json()["payload"]["value"] for r in records][-1] == 3
            assert sorted({r.json()["payload"]["value"] for r in records}) == [1, 2, 3]
            assert await eventually(lambda: _nothing_pending(restarted), timeout=30)
    finally:
        await asyncio.to_thread(_kafka, "down", bootstrap)
        shutil.rmtree(PROJECT_ROOT / "var" / f"kafka-{port}", ignore_errors=True)


async def _nothing_pending(infra: Infrastructure) -> bool:
    return await infra.relay.pending_count() == 0


async def test_two_relays_on_one_postgres_outbox_publish_each_event_once_in_order_per_aggregate(
    databases: tuple[str, str], kafka_bootstrap: str, topic_namespace: str
) -> None:
    first = infrastructure("kit-producer", databases[0], kafka_bootstrap, topic_namespace)
    second = infrastructure("kit-producer", databases[0], kafka_bootstrap, topic_namespace)
    aggregates = [uuid.uuid4() for _ in range(8)]
    async with first.running(), second.running():
        for value in range(25):  # commits alternate between the two processes' units of work
            for index, aggregate in enumerate(aggregates):
                await record_probe(first if index % 2 else second, aggregate, value)
        topic = topic_namespace + Topic.NOTIFICATIONS
        records = await read_records(kafka_bootstrap, topic, until=lambda rs: len(rs) >= 200, timeout=60)
        assert await eventually(lambda: _nothing_pending(first))
    envelopes = [Envelope.model_validate_json(r.value) for r in records]
    assert len(envelopes) == 200 and len({e.event_id for e in envelopes}) == 200  # none twice
    for aggregate in aggregates:
        values = [e.payload["value"] for e in envelopes if e.payload["probe_id"] == str(aggregate)]
        assert values == list(range(25))  # the order each aggregate's changes were committed in
