"""Idempotent consumer: each event's effects and its processed mark commit in one transaction.

A redelivered event finds its mark and changes nothing. A handler that keeps failing is retried
with backoff; then the original message goes to `<topic>.dlq` with the error, and the consumer
goes on with the next message. The caller acks only after `handle_record` returns.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Generic, TypeVar

import structlog
from opentelemetry import trace
from pydantic import ValidationError
from sqlalchemy import Column, MetaData, String, Table, Uuid, exists, insert, select
from sqlalchemy.exc import IntegrityError

from shared import context
from shared.contracts import Envelope, Event, UnknownEvent, dead_letter_topic, parse_event
from shared.db import Timestamp, utcnow
from shared.jobs import retry_until_done
from shared.metrics import NO_MESSAGING_METRICS, MessagingMetrics
from shared.outbox import Publish, define_outbox_table
from shared.tracing import extract_trace_context
from shared.unit_of_work import UnitOfWork

log = structlog.get_logger(__name__)
tracer = trace.get_tracer(__name__)

U = TypeVar("U", bound=UnitOfWork)
EventHandler = Callable[[Any, U, Envelope], Awaitable[None]]
"""(event, unit of work, envelope): apply the event's effects in the consumer's transaction."""


def define_processed_events_table(metadata: MetaData) -> Table:
    return Table(
        "processed_events",
        metadata,
        Column("consumer", String(100), primary_key=True),
        Column("event_id", Uuid, primary_key=True),
        Column("event_type", String(100), nullable=False),
        Column("processed_at", Timestamp(), nullable=False),
    )


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
    ) -> None:
        self.name = name
        self._uow_factory = uow_factory
        self._processed = processed_events
        self._handlers = {cls.event_type(): handler for cls, handler in handlers.items()}
        self._dead_letter = dead_letter
        self._max_attempts = max_attempts
        self._backoff_seconds = backoff_seconds
        self.metrics: MessagingMetrics = NO_MESSAGING_METRICS  # the service puts its own in

    @property
    def event_types(self) -> set[str]:
        return set(self._handlers)

    async def handle_record(self, topic: str, key: bytes | None, value: bytes, headers: Mapping[str, str]) -> None:
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
        for attempt in range(1, self._max_attempts + 1):
            try:
                await self._process_once(handler, event, envelope)
                return
            except Exception as exc:
                if attempt == self._max_attempts:
                    await self._send_to_dead_letter(topic, key, value, headers, exc)
                    return
                delay = self._backoff_seconds * 2 ** (attempt - 1)
                log.warning("consumer.retry", consumer=self.name, attempt=attempt, error=repr(exc), retry_in=delay)
                await asyncio.sleep(delay)

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
            "dlq-error": str(error)[:4000],
            "dlq-failed-at": utcnow().isoformat(),
        }

        async def publish_dead_letter() -> None:
            await (await self._dead_letter(dead_letter_topic(topic), key or b"", value, dlq_headers))

        # Never ack a message that neither took effect nor reached the DLQ.
        await retry_until_done(publish_dead_letter, what="consumer.dead_letter")
        self.metrics.event_dead_lettered(self.name, topic)
        log.error("consumer.dead_lettered", consumer=self.name, topic=topic, error_type=type(error).__name__)
