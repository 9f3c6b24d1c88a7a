"""Kafka dies (SIGKILL) with records in flight and comes back: nothing lost, nothing doubled."""

from __future__ import annotations

import asyncio

import pytest

from tests.faults.infrastructure import OwnKafka, OwnPostgres
from tests.faults.platform import Load, Platform
from tests.faults.scenario import SUBMISSIONS, created_at_least, run, the_pool, the_rest_of_the_journey, when

pytestmark = pytest.mark.integration


async def test_kafka_broker_killed_and_restarted_with_records_in_flight(
    own_kafka: OwnKafka, own_postgres: OwnPostgres, topics_cleaned: list[str]
) -> None:
    async def scenario(platform: Platform, load: Load) -> None:
        await the_pool(load)

        async def broker_dies() -> None:
            await when(created_at_least(load, SUBMISSIONS // 4))
            await asyncio.to_thread(own_kafka.kill)
            load.ledger.faults.append(f"broker SIGKILLed after {len(load.ledger.created)} submissions")
            await asyncio.sleep(3)
            await asyncio.to_thread(own_kafka.up)
            load.ledger.faults.append("broker restarted")

        submitted, _ = await asyncio.gather(load.submit(SUBMISSIONS), broker_dies())
        await the_rest_of_the_journey(load, submitted)

    await run("kafka-restart", own_kafka, own_postgres, topics_cleaned, scenario)
