"""Transactional outbox: events are rows written with the state change; a relay publishes them.

The relay wakes as soon as a unit of work commits an event, polls as a fallback (for rows written
by another process), keeps per-aggregate order (rows go out in id order, one relay at a time on
PostgreSQL through an advisory lock), and retries with backoff while the broker is away.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy import JSON, Column, Index, MetaData, String, Table, Text, Uuid, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.contracts import Envelope, Event
from shared.db import BigId, Timestamp, utcnow
from shared.jobs import AT_ONCE, Backoff, Pause, PeriodicJob
from shared.metrics import NO_MESSAGING_METRICS, MessagingMetrics
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

    async def add(self, session: AsyncSession, event: Event) -> Envelope:
        envelope = Envelope.wrap(event, producer=self.producer)
        await session.execute(
            insert(self.table).values(
                event_id=envelope.event_id,
                event_type=envelope.event_type,
                topic=event.topic.value,
                key=event.key(),
                envelope=envelope.model_dump_json(),
                headers={"content-type": "application/json", **inject_trace_headers()},
                created_at=utcnow(),
            )
        )
        return envelope


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
        # Broker or database away: the rows stay, the next round backs off.
        self._job = PeriodicJob("outbox-relay", self._round, interval=poll_seconds, backoff=Backoff(0.5, 30.0))

    def wake(self) -> None:
        self._job.wake()

    async def run(self) -> None:
        """Publish forever; cancel the task to stop."""
        await self._job.run()

    async def _round(self) -> Pause | None:
        try:
            published = await self.publish_pending()
        except Exception:
            self.metrics.relay_failed()
            raise
        if utcnow() - self._last_purge > timedelta(hours=1):
            await self.purge_published()
            self._last_purge = utcnow()
        return AT_ONCE if published == self._batch_size else None  # a full batch: more are waiting

    async def publish_pending(self) -> int:
        """Publish one batch in id order and mark it sent; returns how many rows went out."""
        table = self._table
        async with self._session_factory() as session, session.begin():
            if session.get_bind().dialect.name == "postgresql":
                locked = await session.scalar(select(func.pg_try_advisory_xact_lock(RELAY_LOCK_KEY)))
                if not locked:
                    return 0  # another relay is publishing; its order must not be overtaken
            rows = (
                await session.execute(
                    select(table.c.id, table.c.topic, table.c.key, table.c.envelope, table.c.headers)
                    .where(table.c.published_at.is_(None))
                    .order_by(table.c.id)
                    .limit(self._batch_size)
                )
            ).all()
            if not rows:
                return 0
            # Enqueue in id order, then wait for every ack: the idempotent producer keeps that
            # order per partition with several batches in flight.
            acks = [
                await self._publish(row.topic, row.key.encode(), row.envelope.encode(), row.headers) for row in rows
            ]
            await asyncio.gather(*acks)
            self.metrics.relay_published(row.topic for row in rows)
            await session.execute(
                update(table).where(table.c.id.in_([row.id for row in rows])).values(published_at=utcnow())
            )
        log.debug("outbox.published", count=len(rows))
        return len(rows)

    async def pending_count(self) -> int:
        async with self._session_factory() as session:
            count = await session.scalar(
                select(func.count()).select_from(self._table).where(self._table.c.published_at.is_(None))
            )
            return int(count or 0)

    async def purge_published(self) -> None:
        cutoff = utcnow() - self._keep_published
        async with self._session_factory() as session, session.begin():
            await session.execute(delete(self._table).where(self._table.c.published_at < cutoff))
