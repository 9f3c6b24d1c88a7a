"""Erased means erased in matching: an event about someone erased that arrives later (a redelivery, a replay)
stores nobody again, and matching's outbox, whose group events carry contact details, forgets them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.matching.handlers import PurgeSentEvents
from services.matching.tests.conftest import Matching
from services.matching.tests.factories import accepted, registered, team
from shared.contracts.resources import ResourceErased, ResourceUpdated
from shared.testing import eventually

pytestmark = pytest.mark.integration


async def outbox_rows_naming(matching: Matching, needle: str) -> int:
    return int(await matching.scalar(f"SELECT count(*) FROM outbox WHERE envelope LIKE '%{needle}%'"))  # noqa: S608


async def everything_published(matching: Matching) -> bool:
    return bool(await matching.scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0)


async def test_a_registration_or_update_consumed_after_the_erasure_stores_nobody(matching: Matching) -> None:
    zelda = registered("Zelda Zorn", "Zorn AB")
    await matching.feed(ResourceErased(resource_id=zelda.resource_id))

    await matching.feed(zelda)
    await matching.feed(
        ResourceUpdated(
            resource_id=zelda.resource_id, profile=zelda.profile, profile_url=zelda.profile_url, active=True
        )
    )

    assert await matching.scalar("SELECT count(*) FROM resources") == 0
    assert await matching.rows("SELECT kind, subject_id FROM erased_subjects") == [("resource", zelda.resource_id)]


async def test_erasing_a_member_deletes_the_sent_events_that_name_them(matching: Matching) -> None:
    people = team()
    await matching.feed(*people)
    initiative = accepted()
    await matching.feed(initiative)
    (group,) = await matching.groups(initiative.initiative_id)
    await matching.client.post(f"/api/v1/groups/{group['id']}/confirm", headers=matching.coordinator)
    member = next(m for m in group["members"] if m["role"] == "resource")
    person = next(p for p in people if str(p.resource_id) == member["resource_id"])
    await eventually(lambda: everything_published(matching), timeout=20)
    assert await outbox_rows_naming(matching, person.profile.email) >= 2  # proposed, confirmed, invited

    await matching.feed(ResourceErased(resource_id=person.resource_id))

    for needle in (person.profile.name, person.profile.email):
        assert await outbox_rows_naming(matching, needle) == 0, needle
    other = next(m for m in group["members"] if m["resource_id"] != member["resource_id"])
    assert await outbox_rows_naming(matching, other["name"]) >= 1  # the others' events stay until purged


async def test_published_group_events_are_purged_minutes_after_they_went_out(matching: Matching) -> None:
    await matching.feed(*team())
    await matching.feed(accepted())
    await eventually(lambda: everything_published(matching), timeout=20)
    assert await matching.scalar("SELECT count(*) FROM outbox") >= 1

    kept = await matching.app.state.bus.handle(PurgeSentEvents(keep=timedelta(minutes=5)))
    assert kept == 0 and await matching.scalar("SELECT count(*) FROM outbox") >= 1  # just sent: kept a while

    matching.clock.advance(minutes=6)
    purged = await matching.app.state.bus.handle(PurgeSentEvents(keep=timedelta(minutes=5)))
    assert purged >= 1
    assert await matching.scalar("SELECT count(*) FROM outbox") == 0
