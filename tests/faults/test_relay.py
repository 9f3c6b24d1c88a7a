"""The outbox relay dies (its process SIGKILLed) with committed rows not yet published."""

from __future__ import annotations

import asyncio

import pytest

from tests.faults.infrastructure import OwnKafka, OwnPostgres
from tests.faults.platform import Load, Platform
from tests.faults.scenario import (
    SUBMISSIONS,
    run,
    the_pool,
    the_rest_of_the_journey,
    unpublished,
)

pytestmark = pytest.mark.integration


async def test_the_outbox_relay_killed_during_a_batch(
    own_kafka: OwnKafka, own_postgres: OwnPostgres, topics_cleaned: list[str]
) -> None:
    """The services expose no way to stop only the relay, so the process is SIGKILLed while its outbox holds
    rows not yet published (committed, the relay's batch under way)."""

    async def scenario(platform: Platform, load: Load) -> None:
        await the_pool(load)
        seen_unpublished = 0

        async def relay_dies() -> None:
            nonlocal seen_unpublished
            while len(load.ledger.created) < SUBMISSIONS:
                seen_unpublished = await unpublished(platform, "intake")
                if seen_unpublished and len(load.ledger.created) >= SUBMISSIONS // 3:
                    break
                await asyncio.sleep(0.01)
            await asyncio.to_thread(platform.services["intake"].kill)
            load.ledger.faults.append(f"intake SIGKILLed with {seen_unpublished} outbox rows unpublished")
            await asyncio.sleep(1)
            await platform.services["intake"].restart()

        submitted, _ = await asyncio.gather(load.submit(SUBMISSIONS, concurrency=12), relay_dies())
        await the_rest_of_the_journey(load, submitted)

    await run("relay-killed", own_kafka, own_postgres, topics_cleaned, scenario)
