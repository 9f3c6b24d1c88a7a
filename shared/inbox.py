"""Idempotent consumer: each event's effects and its processed mark commit in one transaction.

Records come in batches (what the partitions had ready); a batch's events share one transaction, each
under a savepoint, and their marks are inserted in one statement (`handle_batch`); the subscriber
commits the batch's offsets once, after that. A service may register a run handler for some event types:
consecutive events of those types in one batch are then applied by one call, as a set (under one savepoint,
their duplicates found in the batch's one look at the marks); if the run fails, its events are applied one by
one instead, so a poison event still goes alone to the DLQ. A redelivered event finds its mark and changes nothing.
A handler that fails because something it needs is away (the database, the network:
`shared.outages.is_infrastructure_error`) is retried without limit with capped backoff; that never
counts against the event. A handler that fails for any other reason (validation, a domain rule) is
retried `max_attempts` times; then the original message goes to `<topic>.dlq` with the error, and the
consumer goes on with the next message.

So that a long outage never costs the consumer its group membership (Kafka drops a member that
does not poll within `max.poll.interval.ms`), one batch waits at most `hold_seconds`, then
`handle_batch` raises `Redeliver` naming the records still to do: the subscriber commits what came
before them, seeks back to them and polls again. The caller commits only after `handle_batch` returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Generic, TypeVar

import structlog
from opentelemetry import trace
from pydantic import ValidationError
from sqlalchemy import Column, Index, MetaData, String, Table, Uuid, delete, exists, insert, select
from sqlalchemy.exc import IntegrityError

from shared import context
from shared.contracts import Envelope, Event, UnknownEvent, dead_letter_topic, parse_event
from shared.db import Timestamp, present, utcnow, write_rows
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
RunHandler = Callable[[Sequence[Any], U, Sequence[Envelope]], Awaitable[None]]
"""(events in their order, unit of work, their envelopes): apply a run of events as a set, with the effect one
by one would have."""


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


@dataclass(frozen=True)
class Record:
    """A record as the consumer needs it (topic without the namespace)."""

    topic: str
    key: bytes | None
    value: bytes
    headers: Mapping[str, str]
    partition: int | None = None
    offset: int | None = None


@dataclass
class _Delivery:
    record: Record
    envelope: Envelope | None
    event: Event | None
    handler: Any  # EventHandler[U]
    invalid: Exception | None = None  # not an event this consumer can read: the DLQ, in its turn
    marked: bool = False  # applied in this transaction: its processed mark goes with it

    @property
    def event_id(self) -> uuid.UUID:
        assert self.envelope is not None
        return self.envelope.event_id

    @property
    def record_type(self) -> str:
        assert self.envelope is not None
        return self.envelope.event_type


class Redeliver(Exception):  # an instruction to the subscriber, not a failure of the event
    """The events could not be applied yet because something they need is away (or the batch took
    `hold_seconds`): seek back to `remaining` (the first of them on each partition) and poll again;
    what came before them is done and may be committed."""

    def __init__(self, remaining: tuple[Record, ...] = ()) -> None:
        super().__init__(f"{len(remaining)} records to deliver again")
        self.remaining = remaining


async def purge_processed_events(session_factory: Callable[[], Any], table: Table, keep: timedelta) -> int:
    """Forget processed marks older than `keep`; returns how many went. `keep` must be longer than
    the topics' retention, so that no event that could still be delivered again loses its mark."""
    async with session_factory() as session, session.begin():
        result = await session.execute(delete(table).where(table.c.processed_at < utcnow() - keep))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


_batches_applying = 0  # in this process (several consumers' batches interleave at their awaits)
_collector_was_enabled = True
_paused_since = 0.0
MAX_COLLECTOR_PAUSE = 10.0
"""Seconds the collector may wait while batches keep overlapping (a busy process may never be without one): a
batch that ends after that runs one collection, so cycles made meanwhile cannot pile up without bound."""


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while a batch is applied, on again when the last batch applying
    ends (or collected once per MAX_COLLECTOR_PAUSE while batches keep overlapping). A batch makes tens of
    thousands of objects that live until it is done (envelopes, events, rows) and then go by reference counting;
    meanwhile they set off collections that walk the whole heap again and again, finding nothing: a third of
    matching's CPU in a replay (B4: about 200 -> 135 us per event). Cycles made meanwhile are collected as soon
    as it runs again."""
    global _batches_applying, _collector_was_enabled, _paused_since
    if _batches_applying == 0:
        _collector_was_enabled = gc.isenabled()
        _paused_since = time.monotonic()
        gc.disable()
    _batches_applying += 1
    try:
        yield
    finally:
        _batches_applying -= 1
        if _batches_applying == 0:
            if _collector_was_enabled:
                gc.enable()
        elif _collector_was_enabled and time.monotonic() - _paused_since > MAX_COLLECTOR_PAUSE:
            gc.collect()
            _paused_since = time.monotonic()


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
        runs: Mapping[type[Event], RunHandler[U]] | None = None,
    ) -> None:
        self.name = name
        self._uow_factory = uow_factory
        self._processed = processed_events
        self._handlers = {cls.event_type(): handler for cls, handler in handlers.items()}
        self._runs = {cls.event_type(): handler for cls, handler in (runs or {}).items()}
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
        """One record: a batch of one (see `handle_batch`)."""
        await self.handle_batch([Record(topic, key, value, headers, partition, offset)])

    async def handle_batch(self, records: Sequence[Record]) -> None:
        """Apply `records` in order, in as few transactions as is safe; returns when every one took effect,
        was a duplicate or went to the DLQ (then the caller commits the batch's offsets, once).

        The events are applied in one transaction, each under its own savepoint, with their processed marks
        inserted in one statement. An event that fails for a reason of its own ends that transaction: what
        came before it commits, it is retried alone (then dead-lettered), and the rest follow in a new
        transaction, so per-key order holds. An outage rolls the transaction back and retries it; after
        `hold_seconds` in all, `Redeliver` (the subscriber seeks back to the batch; its marks skip what did commit).
        The cyclic garbage collector waits meanwhile (`collector_paused`)."""
        with collector_paused():
            await self._handle_batch(records)

    async def _handle_batch(self, records: Sequence[Record]) -> None:
        held_until = time.monotonic() + self._hold_seconds
        pending = [delivery for record in records if (delivery := self._parse(record)) is not None]
        try:
            while pending:
                if pending[0].invalid is not None:
                    await self._send_to_dead_letter(pending[0].record, pending[0].invalid)
                    pending = pending[1:]
                    continue
                applied, failure = await self._apply_while_outage(pending, held_until)
                pending = pending[applied:]
                if failure is not None:
                    await self._process_with_retries(pending[0], failed_once=failure)
                    pending = pending[1:]
                if pending and time.monotonic() >= held_until:
                    raise Redeliver  # poll again within max.poll.interval.ms
        except Redeliver as exc:
            raise Redeliver(tuple(delivery.record for delivery in pending)) from exc

    def _parse(self, record: Record) -> _Delivery | None:
        """The record's event and handler (or why it is invalid: it goes to the DLQ in its turn); None
        when it is not this consumer's business."""
        headers = record.headers
        if record.partition is not None and record.offset is not None:
            # Where it came from, for `meetmalmo dlq redrive` to tell which later events of its key were applied.
            headers = {**headers, "dlq-original-partition": str(record.partition),
                       "dlq-original-offset": str(record.offset)}  # fmt: skip
        record = Record(record.topic, record.key, record.value, headers, record.partition, record.offset)
        try:
            envelope = Envelope.model_validate_json(record.value)
        except ValidationError as exc:
            return _Delivery(record, None, None, None, invalid=exc)
        handler = self._handlers.get(envelope.event_type)
        if handler is None:
            return None  # another consumer's business
        try:
            event = parse_event(envelope)
        except (ValidationError, UnknownEvent) as exc:
            return _Delivery(record, envelope, None, None, invalid=exc)
        return _Delivery(record, envelope, event, handler)

    @contextlib.contextmanager
    def _in_context(self, delivery: _Delivery) -> Iterator[None]:
        """The event's correlation, log fields and trace span around its handler."""
        envelope, record = delivery.envelope, delivery.record
        assert envelope is not None
        correlation = context.correlation_id.set(envelope.correlation_id)
        causation = context.causation_id.set(str(envelope.event_id))
        try:
            with (
                structlog.contextvars.bound_contextvars(
                    event_id=str(envelope.event_id), event_type=envelope.event_type
                ),
                tracer.start_as_current_span(
                    f"{record.topic} process",
                    context=extract_trace_context(record.headers),
                    kind=trace.SpanKind.CONSUMER,
                    attributes={"messaging.destination.name": record.topic,
                                "messaging.consumer.group.name": self.name},
                ),
            ):  # fmt: skip
                yield
        finally:
            context.correlation_id.reset(correlation)
            context.causation_id.reset(causation)

    async def _apply_while_outage(
        self, deliveries: Sequence[_Delivery], held_until: float
    ) -> tuple[int, Exception | None]:
        """`_apply_prefix`, retried without limit while what it needs is away (until `held_until`)."""
        while True:
            try:
                outcome = await self._apply_prefix(deliveries)
            except Exception as exc:
                if not is_infrastructure_error(exc):
                    raise
                self.outage.failed(exc)
                if time.monotonic() >= held_until:
                    raise Redeliver from exc  # poll again (keeps the group membership), then retry
                await asyncio.sleep(next(self._outage_delays))
                continue
            self._outage_over()
            return outcome

    async def _apply_prefix(self, deliveries: Sequence[_Delivery]) -> tuple[int, Exception | None]:
        """Apply `deliveries` in order in one transaction until one fails for a reason of its own; commit
        those before it with their marks. Returns (how many were dealt with, the error of the next one).

        Each handler runs under a savepoint, so a failing one leaves its predecessors' effects whole.
        SQLite's driver turns a savepoint outside a transaction into a commit: there one event is one
        transaction."""
        processed = self._processed
        async with self._uow_factory() as uow:
            session = uow.session
            batched = session.get_bind().dialect.name == "postgresql"
            window: list[_Delivery] = []
            for delivery in deliveries if batched else deliveries[:1]:
                if delivery.invalid is not None:
                    break  # it goes to the DLQ in its turn, after those before it
                window.append(delivery)
            seen = await present(session, processed, "event_id", (d.event_id for d in window), consumer=self.name)
            applied: list[_Delivery] = []
            failure: Exception | None = None
            alone_until = 0  # the deliveries before this index whose run failed: one by one now
            index = 0
            while index < len(window):
                delivery = window[index]
                if delivery.event_id in seen:
                    log.info("consumer.duplicate_ignored", consumer=self.name)
                    applied.append(delivery)
                    index += 1
                    continue
                run = self._run_at(window, index, seen) if batched and index >= alone_until else []
                if len(run) > 1:
                    if await self._apply_run(run, uow):
                        for member in run:
                            seen.add(member.event_id)
                            member.marked = True
                        applied.extend(run)
                        index += len(run)
                        continue
                    alone_until = index + len(run)
                try:
                    with self._in_context(delivery):
                        if batched:
                            async with session.begin_nested():
                                await delivery.handler(delivery.event, uow, delivery.envelope)
                        else:
                            await delivery.handler(delivery.event, uow, delivery.envelope)
                except Exception as exc:
                    if is_infrastructure_error(exc):
                        raise
                    if not batched:
                        return 0, exc  # no savepoint: its transaction is rolled back whole
                    failure = exc
                    break
                seen.add(delivery.event_id)
                delivery.marked = True
                applied.append(delivery)
                index += 1
            marks = [
                {"consumer": self.name, "event_id": d.event_id, "event_type": d.record_type, "processed_at": utcnow()}
                for d in applied
                if d.marked
            ]
            try:
                await write_rows(session, processed, marks)  # one execution for the batch's marks
                await uow.commit()
            except IntegrityError:
                # A concurrent delivery (a rebalance) committed some of them first: one at a time, each
                # finds its mark or applies.
                log.info("consumer.duplicate_ignored", consumer=self.name)
                await session.rollback()
                return await self._one_by_one(applied), failure
        return len(applied), failure

    def _run_at(self, window: Sequence[_Delivery], start: int, seen: set[uuid.UUID]) -> list[_Delivery]:
        """The deliveries from `start` on that one run handler takes together: consecutive, of the types
        it is registered for, none processed before nor twice in the run."""
        handler = self._runs.get(window[start].record_type)
        run: list[_Delivery] = []
        ids: set[uuid.UUID] = set()
        for delivery in window[start:]:
            repeated = delivery.event_id in seen or delivery.event_id in ids
            if repeated or self._runs.get(delivery.record_type) is not handler:
                break
            run.append(delivery)
            ids.add(delivery.event_id)
        return run if handler is not None else []

    async def _apply_run(self, run: Sequence[_Delivery], uow: U) -> bool:
        """The run applied by its handler under one savepoint; False (its effects taken back) when it failed
        for a reason of its own: the caller then applies its events one by one."""
        handler = self._runs[run[0].record_type]
        try:
            with self._in_context(run[-1]):  # what the run emits is caused by its last event
                async with uow.session.begin_nested():
                    envelopes = [delivery.envelope for delivery in run if delivery.envelope is not None]
                    await handler([delivery.event for delivery in run], uow, envelopes)
        except Exception as exc:
            if is_infrastructure_error(exc):
                raise
            log.warning("consumer.run_failed", consumer=self.name, events=len(run), error_type=type(exc).__name__,
                        error=describe_error(exc, 200))  # fmt: skip
            return False
        return True

    async def _one_by_one(self, deliveries: Sequence[_Delivery]) -> int:
        for delivery in deliveries:
            await self._process_with_retries(delivery)
        return len(deliveries)

    def _outage_over(self) -> None:
        if self.outage.ongoing:
            self.outage.succeeded()
            self._outage_delays = self._outage_backoff.delays()

    async def _process_with_retries(self, delivery: _Delivery, failed_once: Exception | None = None) -> None:
        """One event in its own transaction: an outage retried without limit, its own failure
        `max_attempts` times (counting `failed_once`, a failure in its batch), then the DLQ."""
        with self._in_context(delivery):
            await self._retry_alone(delivery, failed_once)

    async def _retry_alone(self, delivery: _Delivery, failed_once: Exception | None) -> None:
        failures = 0
        held_until = time.monotonic() + self._hold_seconds
        error = failed_once
        while True:
            if error is not None:
                failures += 1
                if failures >= self._max_attempts:
                    await self._send_to_dead_letter(delivery.record, error)
                    return
                delay = self._backoff_seconds * 2 ** (failures - 1)
                log.warning(
                    "consumer.retry", consumer=self.name, attempt=failures, error_type=type(error).__name__,
                    error=describe_error(error, 200), retry_in=delay,
                )  # fmt: skip
                await asyncio.sleep(delay)
                error = None
            try:
                await self._process_once(delivery)
            except Exception as exc:
                if is_infrastructure_error(exc):
                    self.outage.failed(exc)
                    if time.monotonic() >= held_until:
                        raise Redeliver from exc  # poll again (keeps the group membership), then retry
                    await asyncio.sleep(next(self._outage_delays))
                    continue
                error = exc
            else:
                self._outage_over()
                return

    async def _process_once(self, delivery: _Delivery) -> None:
        processed, envelope = self._processed, delivery.envelope
        assert envelope is not None
        async with self._uow_factory() as uow:
            already = await uow.session.scalar(
                select(exists().where(processed.c.consumer == self.name, processed.c.event_id == envelope.event_id))
            )
            if already:
                log.info("consumer.duplicate_ignored", consumer=self.name)
                return
            await delivery.handler(delivery.event, uow, envelope)
            try:
                await uow.session.execute(
                    insert(processed).values(
                        consumer=self.name,
                        event_id=envelope.event_id,
                        event_type=envelope.event_type,
                        processed_at=utcnow(),
                    )
                )
                await uow.commit()
            except IntegrityError:
                # A concurrent delivery of the same event committed first; its effects stand.
                log.info("consumer.duplicate_ignored", consumer=self.name)

    async def _send_to_dead_letter(self, record: Record, error: BaseException) -> None:
        topic, key, value = record.topic, record.key, record.value
        dlq_headers = {
            **record.headers,
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
