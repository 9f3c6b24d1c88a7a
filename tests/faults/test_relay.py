"""The outbox relay dies (its process SIGKILLed) with committed rows not yet published."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from shared.testing import query, query_value
from tests.faults import proofs
from tests.faults.infrastructure import OwnKafka, OwnPostgres
from tests.faults.platform import Load, Platform
from tests.faults.scenario import (
    SUBMISSIONS,
    run,
    the_pool,
    the_rest_of_the_journey,
    unpublished,
    when,
)

pytestmark = pytest.mark.integration


async def test_the_outbox_relay_killed_during_a_batch(
    own_kafka: OwnKafka, own_postgres: OwnPostgres, topics_cleaned: list[str]
) -> None:
    """The services expose no way to stop only the relay, so intake's process is SIGKILLed while its outbox
    holds committed rows not yet published: once in the middle of the load, and once between a relay batch's
    acks and its commit (held open by a lock on the outbox), so that the restarted relay publishes that batch
    again and the consumers must apply each of its events once."""

    async def scenario(platform: Platform, load: Load) -> None:
        await the_pool(load)
        intake = platform.services["intake"]

        async def relay_dies() -> None:
            seen = 0
            while len(load.ledger.created) < SUBMISSIONS // 2:
                seen = await unpublished(platform, "intake")
                if seen and len(load.ledger.created) >= SUBMISSIONS // 6:
                    break
                await asyncio.sleep(0.01)
            await asyncio.to_thread(intake.kill)
            load.ledger.faults.append(f"intake SIGKILLed under load with {seen} outbox rows unpublished")
            await asyncio.sleep(1)
            await intake.restart()

        submitted, _ = await asyncio.gather(load.submit(SUBMISSIONS // 2, concurrency=12), relay_dies())

        more = asyncio.create_task(load.submit(SUBMISSIONS - SUBMISSIONS // 2, concurrency=4))
        while True:  # the lock is taken while committed rows wait for the relay
            async with marking_blocked(platform) as relay_waits:
                if await unpublished(platform, "intake"):
                    # The relay publishes its batch, then waits for the lock to mark it.
                    await when(relay_waits)
                    await asyncio.to_thread(intake.kill)
                    break
            await asyncio.sleep(0.01)
        rows = await query(platform.databases["intake"], "SELECT event_id FROM outbox WHERE published_at IS NULL")
        waiting = {str(row["event_id"]) for row in rows}
        on_topic = {str(e["event_id"]) for r in await proofs.read_every_topic(platform) if (e := r.envelope())}
        load.ledger.faults.append(
            f"intake SIGKILLed after its relay published {len(waiting & on_topic)} records and before it marked "
            f"them ({len(waiting)} rows left unpublished)"
        )
        assert waiting & on_topic  # published, not marked: the restarted relay publishes them again
        await asyncio.sleep(1)
        await intake.restart()
        submitted += await more
        await the_rest_of_the_journey(load, submitted)

    await run("relay-killed", own_kafka, own_postgres, topics_cleaned, scenario)


@contextlib.asynccontextmanager
async def marking_blocked(platform: Platform) -> AsyncIterator[Callable[[], Awaitable[bool]]]:
    """Intake's outbox locked in SHARE mode: the relay still reads its rows (also FOR UPDATE) and publishes
    them, but cannot mark them published (an UPDATE) until the lock goes: the moment between a batch's acks
    and its commit, held open. Yields whether the relay waits for the lock."""

    async def relay_waits() -> bool:
        waiting = await query_value(
            platform.databases["intake"],
            "SELECT count(*) FROM pg_locks JOIN pg_stat_activity USING (pid) WHERE relation = 'outbox'::regclass "
            "AND NOT granted AND query ILIKE 'UPDATE outbox%'",
        )
        return bool(waiting)

    engine = create_async_engine(platform.databases["intake"])
    try:
        async with engine.connect() as connection, connection.begin() as transaction:
            await connection.execute(text("LOCK TABLE outbox IN SHARE MODE"))
            yield relay_waits
            await transaction.rollback()
    finally:
        await engine.dispose()


@contextlib.asynccontextmanager
async def end_offsets(bootstrap: str, topic: str) -> AsyncIterator[Callable[[], Awaitable[int]]]:
    """A reader of how many records `topic` holds now (the sum of its partitions' end offsets)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        partitions = await proofs.partitions_of(admin, [topic])
    finally:
        await admin.close()
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    await consumer.start()

    async def records_on() -> int:
        return sum((await consumer.end_offsets(partitions)).values())

    try:
        yield records_on
    finally:
        await asyncio.sleep(0.05)  # aiokafka 0.14: stopping a group-less consumer at once raises CancelledError
        await consumer.stop()
