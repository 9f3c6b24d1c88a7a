"""PostgreSQL is away for 30 s under the load: the services wait for it and lose nothing."""

from __future__ import annotations

import asyncio

import pytest

from tests.faults.infrastructure import OwnKafka, OwnPostgres
from tests.faults.platform import Load, Platform
from tests.faults.scenario import SUBMISSIONS, created_at_least, run, the_pool, the_rest_of_the_journey, when

POSTGRES_OUTAGE = 30.0  # seconds

pytestmark = pytest.mark.integration


async def test_postgres_stopped_for_30_seconds(
    own_kafka: OwnKafka, own_postgres: OwnPostgres, topics_cleaned: list[str]
) -> None:
    """Every service loses its database for 30 s while submissions, their events and their emails flow; the
    services keep running (nothing restarts them) and must carry on when it is back."""

    async def scenario(platform: Platform, load: Load) -> None:
        await the_pool(load)

        async def database_away() -> None:
            await when(created_at_least(load, SUBMISSIONS // 4))
            await asyncio.to_thread(own_postgres.down)
            load.ledger.faults.append(f"PostgreSQL stopped after {len(load.ledger.created)} submissions")
            await asyncio.sleep(POSTGRES_OUTAGE)
            await asyncio.to_thread(own_postgres.up)
            load.ledger.faults.append(f"PostgreSQL back after {POSTGRES_OUTAGE:.0f} s")

        submitted, _ = await asyncio.gather(load.submit(SUBMISSIONS), database_away())
        await the_rest_of_the_journey(load, submitted)

    await run("postgres-outage", own_kafka, own_postgres, topics_cleaned, scenario)
