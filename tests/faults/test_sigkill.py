"""Every service is SIGKILLed mid-batch and restarted: it picks up from its committed offsets."""

from __future__ import annotations

import asyncio

import pytest

from tests.faults import proofs
from tests.faults.infrastructure import OwnKafka, OwnPostgres
from tests.faults.platform import Load, Platform
from tests.faults.scenario import ACCEPTS, SUBMISSIONS, created_at_least, equals, run, when

pytestmark = pytest.mark.integration


async def test_each_service_sigkilled_mid_batch_and_restarted(
    own_kafka: OwnKafka, own_postgres: OwnPostgres, topics_cleaned: list[str]
) -> None:
    """Each consumer is killed while it works through a burst (notifications while it queues and sends the
    emails of the submissions, matching with acceptances waiting on its topic, intake while the members'
    answers form the groups), resources while people register; each is restarted and picks up from its
    committed offsets."""

    async def kill_and_restart(platform: Platform, load: Load, service: str) -> None:
        process = platform.services[service]
        lag = (await proofs.consumer_lag(platform)).get(service, 0)
        await asyncio.to_thread(process.kill)
        load.ledger.faults.append(f"{service} SIGKILLed ({lag} records not yet committed by its consumer)")
        await process.restart()

    async def scenario(platform: Platform, load: Load) -> None:
        pool = asyncio.create_task(load.join_the_pool())
        await when(lambda: equals(len(load.ledger.people) >= 3))
        await kill_and_restart(platform, load, "resources")
        await pool
        await load.confirm_registrations()
        await load.matching_knows_the_pool()

        async def consumers_die() -> None:
            await when(created_at_least(load, SUBMISSIONS // 4))
            await kill_and_restart(platform, load, "notifications")

        submitted, _ = await asyncio.gather(load.submit(SUBMISSIONS), consumers_die())
        await load.accept(submitted[:ACCEPTS])
        await kill_and_restart(platform, load, "matching")  # with the acceptances waiting on its topics
        await load.confirm_the_proposals()
        members = asyncio.create_task(load.members_accept())
        await asyncio.sleep(0.5)
        await kill_and_restart(platform, load, "intake")  # while groups form: GroupFormed under way
        await members
        await load.groups_are_formed()

    await run("sigkill-each-service", own_kafka, own_postgres, topics_cleaned, scenario)
