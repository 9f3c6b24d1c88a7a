"""Erased means erased: after erasure the person is in no table of any service."""

from __future__ import annotations

import uuid

import pytest

from shared.testing import query_value
from tests.faults import proofs
from tests.faults.infrastructure import OwnKafka, OwnPostgres
from tests.faults.platform import Load, Platform
from tests.faults.scenario import SUBMISSIONS, run, the_pool, when

pytestmark = pytest.mark.integration


async def test_an_erased_person_appears_nowhere(
    own_kafka: OwnKafka, own_postgres: OwnPostgres, topics_cleaned: list[str]
) -> None:
    """A member of a formed group and someone who registered from the portal erase themselves; later
    initiatives are accepted and form groups without them. Neither is stored anywhere afterwards."""

    async def scenario(platform: Platform, load: Load) -> None:
        await the_pool(load)
        submitted = await load.submit(SUBMISSIONS)
        await load.accept(submitted[:2])
        await load.confirm_the_proposals()
        await load.members_accept()
        await load.groups_are_formed()
        await proofs.settled(platform)  # their emails have gone out: an erasure cancels what has not
        member = load.ledger.person_by_id(next(iter(load.ledger.members.values()))[-1])
        portal = next(p for p in load.ledger.people.values() if p.kind == "self" and p is not member)
        for person in (member, portal):
            await load.erase(person)
        load.ledger.faults.append(f"{2} people erased themselves")
        await when(lambda: _matching_forgot(platform, [member.id, portal.id]))
        before = set(load.ledger.groups.values())
        await load.accept(submitted[2:4])
        await load.confirm_the_proposals()
        later = [m for g, members in load.ledger.members.items() if g not in before for m in members]
        assert member.id not in later and portal.id not in later, "an erased person was proposed again"
        await load.members_accept()
        await load.groups_are_formed()

    await run("erasure", own_kafka, own_postgres, topics_cleaned, scenario)


async def _matching_forgot(platform: Platform, ids: list[str | None]) -> bool:
    count = await query_value(
        platform.databases["matching"],
        "SELECT count(*) FROM resources WHERE id = ANY(:ids) AND active",
        ids=[uuid.UUID(i) for i in ids if i],
    )
    return bool(count == 0)
