"""One scenario's run: a fresh platform, the load with its fault, then every proof (tests/faults/proofs.py)."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from shared.testing import query_value
from tests.faults import proofs
from tests.faults.conftest import FIGURES
from tests.faults.infrastructure import OwnKafka, OwnPostgres
from tests.faults.platform import Load, Platform, platform_for

SUBMISSIONS = int(os.environ.get("MEETMALMO_FAULTS_SUBMISSIONS", "30"))  # per scenario
ACCEPTS = 4  # per scenario: each becomes a group of two that is confirmed, accepted and formed


Scenario = Callable[[Platform, Load], Awaitable[None]]


async def run(name: str, kafka: OwnKafka, postgres: OwnPostgres, namespaces: list[str], scenario: Scenario) -> None:
    """Run `scenario` on a fresh platform, let it settle, then every proof; all failing proofs are reported."""
    started = time.monotonic()
    async with platform_for(name, kafka, postgres) as platform:
        namespaces.append(platform.namespace)
        async with httpx.AsyncClient(timeout=10.0) as client:
            load = Load(platform, client)
            await scenario(platform, load)
            await proofs.settled(platform)
            records = await proofs.read_every_topic(platform)
            ledger = load.ledger
            figures: dict[str, Any] = {
                "requests": ledger.requests,
                "tries_without_answer": ledger.failed_tries,
                "submissions_201": len(ledger.created),
                "registrations": len(ledger.people),
                "groups_formed": len(ledger.formed),
                "records_on_topics": len(records),
            }
            failures = []
            checks: list[tuple[str, Callable[[], Awaitable[dict[str, int]]]]] = [
                ("every 201 has exactly one initiative and its events",
                 lambda: proofs.every_201_has_exactly_one_initiative_and_its_events(platform, ledger, records)),
                ("every expected email arrived exactly once",
                 lambda: proofs.every_expected_email_arrived_exactly_once(platform, ledger)),
                ("nothing is half stored", lambda: proofs.nothing_is_half_stored(platform, ledger, records)),
                ("only poison is dead-lettered, with its error",
                 lambda: proofs.only_poison_is_dead_lettered(platform, ledger, records)),
                ("no personal data in the logs", lambda: _sync(proofs.no_personal_data_in_logs(platform, ledger))),
            ]  # fmt: skip
            if any(p.erased for p in ledger.people.values()):
                checks.append(
                    ("an erased person appears nowhere", lambda: proofs.erased_people_appear_nowhere(platform, ledger))
                )
            for guarantee, check in checks:
                try:
                    figures |= await check()
                except AssertionError as exc:
                    failures.append(f"{guarantee}: {exc}")
            figures["seconds"] = round(time.monotonic() - started)
            figures["faults"] = "; ".join(ledger.faults)
            FIGURES.append((name, figures))
            assert not failures, f"{name}: " + "\n".join(failures) + f"\nfigures: {figures}\nlogs: {platform.logs}"


async def _sync(value: dict[str, int]) -> dict[str, int]:
    return value


async def when(check: Callable[[], Awaitable[bool]], timeout: float = 120.0) -> None:
    async with asyncio.timeout(timeout):
        while True:
            if await check():
                return
            await asyncio.sleep(0.1)


def created_at_least(load: Load, n: int) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return len(load.ledger.created) >= n

    return check


async def unpublished(platform: Platform, service: str) -> int:
    return int(await query_value(platform.databases[service], "SELECT count(*) FROM outbox WHERE published_at IS NULL"))


async def the_rest_of_the_journey(load: Load, submitted: list[Any]) -> None:
    await load.accept(submitted[:ACCEPTS])
    await load.confirm_the_proposals()
    await load.members_accept()
    await load.groups_are_formed()


async def the_pool(load: Load) -> None:
    await load.join_the_pool()
    await load.confirm_registrations()
    await load.matching_knows_the_pool()


# --- the scenarios ------------------------------------------------------------------------------------


async def equals(value: bool) -> bool:
    return value
