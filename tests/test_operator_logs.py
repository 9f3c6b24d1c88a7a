"""Logs an operator can read: a broker outage is three kinds of line, not thousands, and every line says
which service, trace and correlation it belongs to (and in consumers, which event)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from aiokafka.errors import KafkaConnectionError, OffsetOutOfRangeError
from opentelemetry import trace
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import async_sessionmaker
from structlog.stdlib import ProcessorFormatter

from shared import context
from shared.contracts import Envelope
from shared.db import create_engine
from shared.inbox import IdempotentConsumer, define_processed_events_table
from shared.logs import BrokerOutage
from shared.outbox import Outbox, define_outbox_table
from shared.tracing import configure_tracing
from shared.unit_of_work import UnitOfWork
from tests.json_logs import LogLines, json_logs
from tests.test_messaging_through_kafka import ProbeRecorded


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def outage() -> Iterator[tuple[BrokerOutage, Clock, LogLines]]:
    """The service's logging read back as JSON lines, with an outage filter on a clock of our own."""
    with json_logs() as lines:
        [handler] = [h for h in logging.getLogger().handlers if isinstance(h.formatter, ProcessorFormatter)]
        clock = Clock()
        watcher = BrokerOutage(every_seconds=60.0, clock=clock)
        for existing in list(handler.filters):
            if isinstance(existing, BrokerOutage):
                handler.removeFilter(existing)
        handler.addFilter(watcher)
        try:
            yield watcher, clock, lines
        finally:
            handler.removeFilter(watcher)


def test_a_broker_outage_is_one_line_when_it_starts_one_a_minute_while_it_lasts_and_one_when_it_ends(
    outage: tuple[BrokerOutage, Clock, LogLines],
) -> None:
    watcher, clock, lines = outage
    client, fetcher = logging.getLogger("aiokafka.client"), logging.getLogger("aiokafka.consumer.fetcher")
    configure_tracing("probe-service")
    token = context.correlation_id.set("corr-42")
    try:
        with trace.get_tracer(__name__).start_as_current_span("relay round"):
            for second in range(150):  # two and a half minutes of an unreachable broker, 40 lines a second
                clock.now = 1000.0 + second
                for _ in range(20):
                    client.error('Unable connect to "127.0.0.1:9092": [Errno 111] Connect call failed')
                    fetcher.error("Failed fetch messages from 1: [Error 7] RequestTimedOutError")
            try:
                raise KafkaConnectionError("Unable to bootstrap from [('127.0.0.1', 9092)]")
            except KafkaConnectionError:
                logging.getLogger("faststream").exception("Kafka error occurred")  # an outage line: held back
            logging.getLogger("aiokafka.consumer.group_coordinator").warning("Some other, useful line")
            try:
                raise OffsetOutOfRangeError("offsets out of range")
            except OffsetOutOfRangeError:
                logging.getLogger("faststream").exception("Kafka error occurred")  # not an outage: it passes
            clock.now = 1200.0
            watcher.ended()
    finally:
        context.correlation_id.reset(token)

    logged = lines()
    events = [line["event"] for line in logged]
    assert events == [
        "broker.outage_started",
        "broker.outage_continues",
        "broker.outage_continues",
        "Some other, useful line",
        "Kafka error occurred",
        "broker.outage_ended",
    ]
    assert [line.get("seconds") for line in logged if line["event"] == "broker.outage_continues"] == [60.0, 120.0]
    ended = logged[-1]
    assert ended["seconds"] == 200.0 and ended["lines_held_back"] > 5000
    for line in logged:
        assert line["service"] == "probe-service" and line["correlation_id"] == "corr-42" and line["trace_id"]
    watcher.ended()  # not away any more: nothing to say
    assert lines() == []


async def test_a_consumer_s_lines_name_the_service_the_event_its_type_trace_and_correlation(
    outage: tuple[BrokerOutage, Clock, LogLines], tmp_path: Path
) -> None:
    configure_tracing("probe-service")
    metadata = MetaData()
    outbox, processed = define_outbox_table(metadata), define_processed_events_table(metadata)
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'c.db'}")
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    sessions = async_sessionmaker(engine, expire_on_commit=False)

    async def refuse(event: ProbeRecorded, uow: UnitOfWork, _: Envelope) -> None:
        raise ValueError("probe refused")

    async def dead_letter(topic: str, key: bytes, value: bytes, headers: Mapping[str, str]) -> Awaitable[Any]:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done

    consumer: IdempotentConsumer[UnitOfWork] = IdempotentConsumer(
        "probe", lambda: UnitOfWork(sessions, Outbox(outbox, "probe")), processed, {ProbeRecorded: refuse},
        dead_letter, max_attempts=2, backoff_seconds=0.0,
    )  # fmt: skip
    envelope = Envelope.wrap(ProbeRecorded(probe_id=uuid.uuid4(), value=1), producer="probe")
    envelope = envelope.model_copy(update={"correlation_id": "corr-7"})
    await consumer.handle_record("meetmalmo.notifications.v1", b"k", envelope.model_dump_json().encode(), {})
    await engine.dispose()

    lines = outage[2]
    logged = [line for line in lines() if line["event"].startswith("consumer.")]
    assert [line["event"] for line in logged] == ["consumer.retry", "consumer.dead_lettered"]
    for line in logged:
        assert line["service"] == "probe-service"
        assert line["event_id"] == str(envelope.event_id) and line["event_type"] == "ProbeRecorded"
        assert line["correlation_id"] == "corr-7" and line["trace_id"]
