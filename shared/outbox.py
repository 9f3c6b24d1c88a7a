"""Transactional outbox: events are rows written with the state change; a relay publishes them.

The relay wakes as soon as a unit of work commits an event, polls as a fallback (for rows written
by another process), keeps per-aggregate order (rows go out in id order, one relay at a time on
PostgreSQL through a transaction-scoped advisory lock, so two replicas never publish the same row at
once; on a SQLite file an OS lock beside it does the same across processes), and retries with
backoff while the broker is away.

Every row the broker acknowledged is marked published in the same round, also when another row of
the batch failed, so a retry never publishes it again. A row the broker can never take (too large,
topic refused) is quarantined: marked with its error, logged as `outbox.quarantined` (ERROR, for an
alert), counted in `quarantined_total`, and skipped; the rows after it go on.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from datetime import timedelta
from typing import Any

import structlog
from aiokafka import errors as kafka_errors
from sqlalchemy import JSON, Column, Index, MetaData, String, Table, Text, Uuid, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.contracts import Envelope, Event
from shared.db import BigId, Timestamp, as_aware, utcnow, write_rows
from shared.jobs import AT_ONCE, Backoff, Pause, PeriodicJob
from shared.metrics import NO_MESSAGING_METRICS, MessagingMetrics
from shared.outages import describe_error
from shared.tracing import inject_trace_headers

log = structlog.get_logger(__name__)

# Any constant works: it names "the outbox relay" among this database's advisory locks.
RELAY_LOCK_KEY = 0x4D4D_0B0C

Publish = Callable[[str, bytes, bytes, Mapping[str, str]], Awaitable[Awaitable[Any]]]
"""(topic, key, value, headers): enqueue the record in order; the result resolves on the broker's ack."""


def define_outbox_table(metadata: MetaData) -> Table:
    table = Table(
        "outbox",
        metadata,
        Column("id", BigId, primary_key=True, autoincrement=True),
        Column("event_id", Uuid, nullable=False, unique=True),
        Column("event_type", String(100), nullable=False),
        Column("topic", String(200), nullable=False),
        Column("key", String(200), nullable=False),
        Column("envelope", Text, nullable=False),
        Column("headers", JSON, nullable=False),
        Column("created_at", Timestamp(), nullable=False),
        Column("published_at", Timestamp(), nullable=True),
        # Set when the broker can never take the row (too large, topic refused); `failure` says why.
        Column("quarantined_at", Timestamp(), nullable=True),
        Column("failure", String(500), nullable=True),
    )
    Index(
        "ix_outbox_unpublished",
        table.c.id,
        postgresql_where=table.c.published_at.is_(None),
        sqlite_where=table.c.published_at.is_(None),
    )
    return table


class Outbox:
    """Writes events into the current transaction's outbox table."""

    def __init__(self, table: Table, producer: str) -> None:
        self.table = table
        self.producer = producer
        # One statement object for every event, its values given as parameters: SQLAlchemy neither builds an
        # INSERT nor computes its cache key again per event (it did both for `.values(...)` each time). It runs
        # on the transaction's connection: the ORM session's per-statement bookkeeping buys nothing for it.
        self._insert = insert(table)

    def row(self, event: Event) -> tuple[Envelope, dict[str, Any]]:
        """The event's envelope and its outbox row, for a repository that writes the row in the statement of
        its own change (see UnitOfWork.outbox_row)."""
        envelope = Envelope.wrap(event, producer=self.producer)
        row = {
            "event_id": envelope.event_id,
            "event_type": envelope.event_type,
            "topic": event.topic.value,
            "key": event.key(),
            "envelope": envelope.model_dump_json(),
            "headers": {"content-type": "application/json", **inject_trace_headers()},
            "created_at": utcnow(),
        }
        return envelope, row

    async def add(self, session: AsyncSession, event: Event) -> Envelope:
        envelope, row = self.row(event)
        await (await session.connection()).execute(self._insert, row)
        return envelope

    async def add_many(self, session: AsyncSession, events: Sequence[Event]) -> list[Envelope]:
        """Several events in one statement (`write_rows`: on PostgreSQL one execution), in their order."""
        written = [self.row(event) for event in events]
        await write_rows(session, self.table, [row for _, row in written])
        return [envelope for envelope, _ in written]


# What the broker refuses whatever the number of tries: such a row is quarantined, not retried.
UNPUBLISHABLE = (
    kafka_errors.MessageSizeTooLargeError,
    kafka_errors.RecordListTooLargeError,
    kafka_errors.InvalidTopicError,
    kafka_errors.TopicAuthorizationFailedError,
    kafka_errors.PolicyViolationError,
    kafka_errors.UnsupportedForMessageFormatError,
)


def never_publishable(error: BaseException) -> bool:
    return isinstance(error, UNPUBLISHABLE)


@contextlib.contextmanager
def _sqlite_relay_lock(session_factory: async_sessionmaker[AsyncSession]) -> Iterator[bool]:
    """On a SQLite file, one relay at a time across processes (an OS lock on `<file>.relay-lock`, tried
    without waiting, like PostgreSQL's advisory lock); elsewhere always True (PostgreSQL locks itself)."""
    bind = session_factory.kw.get("bind")
    url = getattr(bind, "url", None)
    if url is None or url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        yield True
        return
    with open(f"{url.database}.relay-lock", "a+b") as lock_file:
        try:
            fcntl.flock(lock_file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(lock_file.fileno(), fcntl.LOCK_UN)


class PublishFailed(RuntimeError):
    """Some rows of a round could not be published (broker away); they stay for the next round."""


class OutboxRelay:
    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        table: Table,
        publish: Publish,
        *,
        poll_seconds: float = 1.0,
        batch_size: int = 200,
        keep_published: timedelta = timedelta(days=7),
    ) -> None:
        self._session_factory = session_factory
        self._table = table
        self._publish = publish
        self._batch_size = batch_size
        self._keep_published = keep_published
        self._last_purge = utcnow()
        self.metrics: MessagingMetrics = NO_MESSAGING_METRICS  # the service puts its own in
        self.quarantined_total = 0
        # Broker or database away: the rows stay, the next round backs off.
        self._job = PeriodicJob("outbox-relay", self._round, interval=poll_seconds, backoff=Backoff(0.5, 30.0))

    def wake(self) -> None:
        self._job.wake()

    async def run(self) -> None:
        """Publish forever; cancel the task to stop."""
        await self._job.run()

    async def _round(self) -> Pause | None:
        try:
            handled = await self.publish_pending()
        except Exception:
            self.metrics.relay_failed()
            raise
        if utcnow() - self._last_purge > timedelta(hours=1):
            self._last_purge = utcnow()
            try:  # a purge that fails never stops the publishing; it is tried again in an hour
                await self.purge_published()
            except Exception as exc:
                log.warning("outbox.purge_failed", error_type=type(exc).__name__, error=describe_error(exc, 200))
        return AT_ONCE if handled == self._batch_size else None  # a full batch: more are waiting

    async def publish_pending(self) -> int:
        """Publish one batch in id order and mark what went out; returns how many rows went out.

        Raises PublishFailed (after marking the rows that did go out) when some could not be sent."""
        with _sqlite_relay_lock(self._session_factory) as locked:
            if not locked:
                return 0  # another process's relay is publishing from this SQLite file
            return await self._publish_batch()

    async def _publish_batch(self) -> int:
        table = self._table
        failures: list[BaseException] = []
        async with self._session_factory() as session, session.begin():
            if session.get_bind().dialect.name == "postgresql":
                locked = await session.scalar(select(func.pg_try_advisory_xact_lock(RELAY_LOCK_KEY)))
                if not locked:
                    return 0  # another relay is publishing; its order must not be overtaken
            rows = (
                await session.execute(
                    select(table.c.id, table.c.event_id, table.c.event_type, table.c.topic, table.c.key,
                           table.c.envelope, table.c.headers)
                    .where(table.c.published_at.is_(None), table.c.quarantined_at.is_(None))
                    .order_by(table.c.id)
                    .limit(self._batch_size)
                )
            ).all()  # fmt: skip
            if not rows:
                return 0
            # Enqueue in id order, then wait for every ack: the idempotent producer keeps that
            # order per partition with several batches in flight.
            sent: list[tuple[Any, Awaitable[Any]]] = []
            quarantine: list[tuple[Any, BaseException]] = []
            for row in rows:
                try:
                    sent.append(
                        (row, await self._publish(row.topic, row.key.encode(), row.envelope.encode(), row.headers))
                    )
                except Exception as exc:
                    if never_publishable(exc):
                        quarantine.append((row, exc))
                        continue
                    failures.append(exc)
                    break  # the broker is away: what is enqueued is awaited, the rest waits for the next round
            outcomes = await asyncio.gather(*(ack for _, ack in sent), return_exceptions=True)
            published, published_topics = [], []
            for (row, _), outcome in zip(sent, outcomes, strict=True):
                if not isinstance(outcome, BaseException):
                    published.append(row.id)
                    published_topics.append(row.topic)
                elif never_publishable(outcome):
                    quarantine.append((row, outcome))
                else:
                    failures.append(outcome)
            now = utcnow()
            self.metrics.relay_published(published_topics)
            if published:
                await session.execute(update(table).where(table.c.id.in_(published)).values(published_at=now))
            for row, error in quarantine:
                failure = f"{type(error).__name__}: {describe_error(error, 400)}"
                await session.execute(
                    update(table).where(table.c.id == row.id).values(quarantined_at=now, failure=failure)
                )
        for row, error in quarantine:
            self.quarantined_total += 1
            log.error(
                "outbox.quarantined", event_id=str(row.event_id), event_type=row.event_type, topic=row.topic,
                error_type=type(error).__name__, error=describe_error(error, 400),
            )  # fmt: skip
        if published:
            log.debug("outbox.published", count=len(published))
        if failures:
            raise PublishFailed(
                f"{len(rows) - len(published) - len(quarantine)} of {len(rows)} rows not published yet: "
                f"{type(failures[0]).__name__}"
            ) from failures[0]
        return len(published) + len(quarantine)

    def _pending(self) -> Any:
        return (self._table.c.published_at.is_(None)) & (self._table.c.quarantined_at.is_(None))

    async def pending_count(self) -> int:
        async with self._session_factory() as session:
            count = await session.scalar(select(func.count()).select_from(self._table).where(self._pending()))
            return int(count or 0)

    async def oldest_pending_age(self) -> float:
        """Seconds since the oldest row still waiting to be published was written (0 when none waits)."""
        async with self._session_factory() as session:
            oldest = await session.scalar(select(func.min(self._table.c.created_at)).where(self._pending()))
        return 0.0 if oldest is None else max(0.0, (utcnow() - as_aware(oldest)).total_seconds())

    async def quarantined_count(self) -> int:
        async with self._session_factory() as session:
            count = await session.scalar(
                select(func.count()).select_from(self._table).where(self._table.c.quarantined_at.is_not(None))
            )
            return int(count or 0)

    async def purge_published(self) -> None:
        cutoff = utcnow() - self._keep_published
        async with self._session_factory() as session, session.begin():
            await session.execute(delete(self._table).where(self._table.c.published_at < cutoff))
