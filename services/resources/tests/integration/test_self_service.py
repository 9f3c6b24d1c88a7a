"""The person's private profile link: see, update, pause, resume, withdraw, export, erase."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import text

from services.resources.tests.factories import Service, profile, token_of, unique_email
from shared.testing import eventually

pytestmark = pytest.mark.integration


def api(profile_url: str, action: str = "") -> str:
    """The JSON endpoint behind a profile link (the link opens the web's page, which asks this)."""
    return f"/api/v1/my/profile/{token_of(profile_url, 'my/profile')}" + (f"/{action}" if action else "")


async def test_reading_the_profile_changes_nothing_and_is_never_cached(service: Service) -> None:
    resource_id, body, profile_url = await service.active_resource()
    events_before = await service.events(resource_id=resource_id)

    mine = await service.client.get(api(profile_url))

    assert mine.status_code == 200
    assert mine.json()["organisation_name"] == body["organisation_name"] and mine.json()["status"] == "active"
    assert mine.headers["cache-control"] == "no-store" and mine.headers["referrer-policy"] == "no-referrer"
    assert await service.events(resource_id=resource_id) == events_before
    assert await service.status_of(resource_id) == "active"


async def test_the_person_reads_and_updates_their_profile(service: Service) -> None:
    resource_id, body, profile_url = await service.active_resource()

    mine = await service.client.get(api(profile_url))
    updated = await service.client.put(
        api(profile_url), json=profile(**{**body, "themes": ["employment", "investments"], "capacity": 3})
    )

    assert mine.status_code == 200 and mine.json()["email"] == body["email"]
    assert updated.status_code == 200, updated.text
    assert updated.json()["themes"] == ["employment", "investments"]
    [event] = await service.events("ResourceUpdated", resource_id)
    assert event["payload"]["active"] is True and event["payload"]["profile"]["capacity"] == 3
    # Version 2 carries no private link: the id names the person, and nobody reading the topic gets a key.
    assert event["schema_version"] == 2 and event["payload"]["profile_url"] is None


async def test_an_invalid_update_is_refused_naming_the_field(service: Service) -> None:
    _, body, profile_url = await service.active_resource()

    response = await service.client.put(api(profile_url), json=profile(**{**body, "capacity": 9}))

    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "capacity"


async def test_an_update_to_a_taken_email_is_refused_without_naming_who_has_it(service: Service) -> None:
    _, body, profile_url = await service.active_resource()
    _, other = await service.register()

    response = await service.client.put(api(profile_url), json=profile(**{**body, "email": other["email"]}))

    assert response.status_code == 409 and "resource_id" not in response.json()


async def test_pausing_and_resuming_tell_the_others_whether_the_person_is_available(service: Service) -> None:
    resource_id, _, profile_url = await service.active_resource()

    paused = await service.client.post(api(profile_url, "pause"))
    paused_again = await service.client.post(api(profile_url, "pause"))
    resumed = await service.client.post(api(profile_url, "resume"))

    assert paused.json()["status"] == "paused" and paused_again.status_code == 200
    assert resumed.json()["status"] == "active"
    updates = await service.events("ResourceUpdated", resource_id)
    assert [u["payload"]["active"] for u in updates] == [False, True]  # the repeated pause said nothing


async def test_withdrawing_leaves_the_pool_and_only_erasure_follows(service: Service) -> None:
    resource_id, _, profile_url = await service.active_resource()

    withdrawn = await service.client.post(api(profile_url, "withdraw"), json={"reason": "no time this year"})
    resumed = await service.client.post(api(profile_url, "resume"))
    paused = await service.client.post(api(profile_url, "pause"))
    mine = await service.client.get(api(profile_url))

    assert withdrawn.json()["status"] == "withdrawn"
    assert resumed.status_code == paused.status_code == 409 and resumed.json()["current_status"] == "withdrawn"
    [event] = await service.events("ResourceWithdrawn", resource_id)
    assert event["payload"]["reason"] == "no time this year"
    assert mine.status_code == 200 and mine.json()["withdrawal_reason"] == "no time this year"
    assert (await service.client.delete(api(profile_url))).status_code == 204


async def test_the_export_holds_the_profile_and_the_events_about_the_person(service: Service) -> None:
    resource_id, body, profile_url = await service.active_resource()

    export = await service.client.get(api(profile_url, "export"))

    assert export.status_code == 200
    data = export.json()
    assert data["resource"]["id"] == resource_id and data["resource"]["email"] == body["email"]
    assert [e["event_type"] for e in data["events"]] == ["ResourceConfirmationRequested", "ResourceRegistered"]
    assert data["events"][1]["payload"]["profile"]["name"] == body["name"]


async def test_a_made_up_link_finds_nothing(service: Service) -> None:
    assert (await service.client.get("/api/v1/my/profile/made-up")).status_code == 404
    assert (await service.client.post("/api/v1/my/profile/made-up/pause")).status_code == 404
    assert (await service.client.delete("/api/v1/my/profile/made-up")).status_code == 404
    assert (await service.client.get("/my/profile/made-up")).status_code == 404  # the pages are the web's


async def rows_mentioning(service: Service, needle: str) -> dict[str, int]:
    """Every table of the service's PostgreSQL database, searched as text for `needle`."""
    found = {}
    async with service.engine.connect() as connection:
        tables = (
            await connection.execute(
                text("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")
            )
        ).scalars()
        for table in list(tables):
            count = await connection.scalar(
                text(f'SELECT count(*) FROM "{table}" AS t WHERE lower(t::text) LIKE :needle'),  # noqa: S608
                {"needle": f"%{needle.lower()}%"},
            )
            found[table] = count
    return found


async def test_erasure_leaves_no_personal_data_in_any_table(service: Service) -> None:
    marker = uuid.uuid4().hex[:10]
    resource_id, body, profile_url = await service.active_resource(
        name=f"Zelda {marker}", email=unique_email(marker), tags=[f"tag-{marker}"], organisation_name=f"Org {marker}"
    )
    await service.client.put(api(profile_url), json=profile(**{**body, "role_title": f"Roll {marker}"}))
    relay = service.app.state.infra.relay
    await eventually(lambda: _nothing_pending(relay))  # some of the events about Zelda are already sent
    before = await rows_mentioning(service, marker)
    assert before["resources"] == 1 and before["resource_attributes"] == 1 and before["outbox"] == 3

    erased = await service.client.delete(api(profile_url))

    assert erased.status_code == 204
    for needle in (marker, body["email"], body["name"]):
        assert set((await rows_mentioning(service, needle)).values()) == {0}, needle
    [event] = await service.events("ResourceErased", resource_id)
    assert event["payload"] == {"resource_id": resource_id}
    assert (await service.client.get(api(profile_url))).status_code == 404
    detail = await service.client.get(f"/api/v1/resources/{resource_id}", headers=service.coordinator)
    assert detail.status_code == 404


async def _nothing_pending(relay: Any) -> bool:
    return bool(await relay.pending_count() == 0)
