"""Idempotent consumer: each event's effects and its processed mark commit in one transaction.

A redelivered event finds its mark and changes nothing. A handler that fails because something it
needs is away (the database, the network: `shared.outages.is_infrastructure_error`) is retried
without limit with capped backoff; that never counts against the event. A handler that fails for
any other reason (validation, a domain rule) is retried `max_attempts` times; then the original
message goes to `<topic>.dlq` with the error, and the consumer goes on with the next message.

So that a long outage never costs the consumer its group membership (Kafka drops a member that
does not poll within `max.poll.interval.ms`), one delivery waits at most `hold_seconds`, then
`handle_record` raises `Redeliver`: the subscriber seeks back to the record and polls again,
which delivers the same record again. The caller acks only after `handle_record` returns.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from typing import Any, Generic, TypeVar

import structlog
from opentelemetry import trace
from pydantic import ValidationError
from sqlalchemy import Column, Index, MetaData, String, Table, Uuid, delete, exists, insert, select
from sqlalchemy.exc import IntegrityError

from shared import context
from shared.contracts import Envelope, Event, UnknownEvent, dead_letter_topic, parse_event
from shared.db import Timestamp, utcnow
from shared.jobs import Backoff, retry_until_done
from shared.metrics import NO_MESSAGING_METRICS, MessagingMetrics
from shared.outages import Outage, describe_error, is_infrastructure_error
from shared.outbox import Publish, define_outbox_table
from shared.tracing import extract_trace_context
from shared.unit_of_work import UnitOfWork

log = structlog.get_logger(__name__)
tracer = trace.get_tracer(__name__)

U = TypeVar("U", bound=UnitOfWork)
EventHandler = Callable[[Any, U, Envelope], Awaitable[None]]
"""(event, unit of work, envelope): apply the event's effects in the consumer's transaction."""


def define_processed_events_table(metadata: MetaData) -> Table:
    table = Table(
        "processed_events",
        metadata,
        Column("consumer", String(100), primary_key=True),
        Column("event_id", Uuid, primary_key=True),
        Column("event_type", String(100), nullable=False),
        Column("processed_at", Timestamp(), nullable=False),
    )
    Index("ix_processed_events_processed_at", table.c.processed_at)  # the purge's range
    return table


class Redeliver(Exception):  # an instruction to the subscriber, not a failure of the event
    """The event could not be applied yet because something it needs is away: seek back and poll again."""


async def purge_processed_events(session_factory: Callable[[], Any], table: Table, keep: timedelta) -> int:
    """Forget processed marks older than `keep`; returns how many went. `keep` must be longer than
    the topics' retention, so that no event that could still be delivered again loses its mark."""
    async with session_factory() as session, session.begin():
        result = await session.execute(delete(table).where(table.c.processed_at < utcnow() - keep))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def messaging_tables() -> tuple[MetaData, Table, Table]:
    """A service's MetaData holding the messaging tables every service has: (metadata, outbox, processed_events)."""
    metadata = MetaData()
    return metadata, define_outbox_table(metadata), define_processed_events_table(metadata)


class IdempotentConsumer(Generic[U]):
    def __init__(
        self,
        name: str,
        uow_factory: Callable[[], U],
        processed_events: Table,
        handlers: Mapping[type[Event], EventHandler[U]],
        dead_letter: Publish,
        *,
        max_attempts: int = 5,
        backoff_seconds: float = 0.2,
        outage_backoff: Backoff = Backoff(0.5, 30.0),
        hold_seconds: float = 60.0,
    ) -> None:
        self.name = name
        self._uow_factory = uow_factory
        self._processed = processed_events
        self._handlers = {cls.event_type(): handler for cls, handler in handlers.items()}
        self._dead_letter = dead_letter
        self._max_attempts = max_attempts
        self._backoff_seconds = backoff_seconds
        self.metrics: MessagingMetrics = NO_MESSAGING_METRICS  # the service puts its own in
        self._outage_backoff = outage_backoff
        self._outage_delays = outage_backoff.delays()
        self._hold_seconds = hold_seconds
        # Kept across redeliveries: one outage is one start line, periodic lines and one end line.
        self.outage = Outage("consumer", consumer=name)

    @property
    def event_types(self) -> set[str]:
        return set(self._handlers)

    async def handle_record(
        self,
        topic: str,
        key: bytes | None,
        value: bytes,
        headers: Mapping[str, str],
        *,
        partition: int | None = None,
        offset: int | None = None,
    ) -> None:
        if partition is not None and offset is not None:
            # Where it came from, for `meetmalmo dlq redrive` to tell which later events of its key were applied.
            headers = {**headers, "dlq-original-partition": str(partition), "dlq-original-offset": str(offset)}
        try:
            envelope = Envelope.model_validate_json(value)
        except ValidationError as exc:
            await self._send_to_dead_letter(topic, key, value, headers, exc)
            return
        handler = self._handlers.get(envelope.event_type)
        if handler is None:
            return  # another consumer's business
        try:
            event = parse_event(envelope)
        except (ValidationError, UnknownEvent) as exc:
            await self._send_to_dead_letter(topic, key, value, headers, exc)
            return

        correlation = context.correlation_id.set(envelope.correlation_id)
        causation = context.causation_id.set(str(envelope.event_id))
        try:
            with (
                structlog.contextvars.bound_contextvars(
                    event_id=str(envelope.event_id), event_type=envelope.event_type
                ),
                tracer.start_as_current_span(
                    f"{topic} process",
                    context=extract_trace_context(headers),
                    kind=trace.SpanKind.CONSUMER,
                    attributes={"messaging.destination.name": topic, "messaging.consumer.group.name": self.name},
                ),
            ):
                await self._process_with_retries(topic, key, value, headers, handler, event, envelope)
        finally:
            context.correlation_id.reset(correlation)
            context.causation_id.reset(causation)

    async def _process_with_retries(
        self,
        topic: str,
        key: bytes | None,
        value: bytes,
        headers: Mapping[str, str],
        handler: EventHandler[U],
        event: Event,
        envelope: Envelope,
    ) -> None:
        failures = 0
        held_until = time.monotonic() + self._hold_seconds
        while True:
            try:
                await self._process_once(handler, event, envelope)
            except Exception as exc:
                if is_infrastructure_error(exc):
                    self.outage.failed(exc)
                    if time.monotonic() >= held_until:
                        raise Redeliver from exc  # poll again (keeps the group membership), then retry
                    await asyncio.sleep(next(self._outage_delays))
                    continue
                failures += 1
                if failures >= self._max_attempts:
                    await self._send_to_dead_letter(topic, key, value, headers, exc)
                    return
                delay = self._backoff_seconds * 2 ** (failures - 1)
                log.warning(
                    "consumer.retry", consumer=self.name, attempt=failures, error_type=type(exc).__name__,
                    error=describe_error(exc, 200), retry_in=delay,
                )  # fmt: skip
                await asyncio.sleep(delay)
            else:
                if self.outage.ongoing:
                    self.outage.succeeded()
                    self._outage_delays = self._outage_backoff.delays()
                return

    async def _process_once(self, handler: EventHandler[U], event: Event, envelope: Envelope) -> None:
        processed = self._processed
        async with self._uow_factory() as uow:
            already = await uow.session.scalar(
                select(exists().where(processed.c.consumer == self.name, processed.c.event_id == envelope.event_id))
            )
            if already:
                log.info("consumer.duplicate_ignored", consumer=self.name)
                return
            await handler(event, uow, envelope)
            await uow.session.execute(
                insert(processed).values(
                    consumer=self.name,
                    event_id=envelope.event_id,
                    event_type=envelope.event_type,
                    processed_at=utcnow(),
                )
            )
            try:
                await uow.commit()
            except IntegrityError:
                # A concurrent delivery of the same event committed first; its effects stand.
                log.info("consumer.duplicate_ignored", consumer=self.name)

    async def _send_to_dead_letter(
        self, topic: str, key: bytes | None, value: bytes, headers: Mapping[str, str], error: BaseException
    ) -> None:
        dlq_headers = {
            **headers,
            "dlq-original-topic": topic,
            "dlq-consumer": self.name,
            "dlq-error-type": type(error).__name__,
            "dlq-error": describe_error(error, 4000),  # never SQL parameters or input values
            "dlq-failed-at": utcnow().isoformat(),
        }

        async def publish_dead_letter() -> None:
            await (await self._dead_letter(dead_letter_topic(topic), key or b"", value, dlq_headers))

        # Never ack a message that neither took effect nor reached the DLQ.
        await retry_until_done(publish_dead_letter, what="consumer.dead_letter")
        self.metrics.event_dead_lettered(self.name, topic)
        log.error("consumer.dead_lettered", consumer=self.name, topic=topic, error_type=type(error).__name__)
