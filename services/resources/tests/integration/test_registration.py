"""Public registration and the double opt-in, through the HTTP API on PostgreSQL."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from services.resources.bootstrap import create_app
from services.resources.tests.factories import WEB_URL, Service, registration, token_of, unique_email

pytestmark = pytest.mark.integration


async def test_a_registration_is_pending_until_confirmed_and_asks_for_confirmation(service: Service) -> None:
    response = await service.client.post("/api/v1/resources", json=registration())

    assert response.status_code == 201
    resource_id = response.json()["id"]
    assert response.json() == {"id": resource_id, "status": "pending_confirmation"}
    [requested] = await service.events("ResourceConfirmationRequested", resource_id)
    assert requested["payload"]["confirm_url"].startswith(f"{WEB_URL}/confirm/")
    assert requested["payload"]["language"] == "sv"
    assert await service.events("ResourceRegistered", resource_id) == []
    assert await service.status_of(resource_id) == "pending_confirmation"


async def test_the_registration_is_stored_in_canonical_form(service: Service) -> None:
    email = unique_email("Anna.Mixed")
    resource_id, _ = await service.register(
        email=email.upper(), competences=["mentoring", "mentoring"], tags=[" lärlingar ", "Lärlingar", ""]
    )

    detail = (await service.client.get(f"/api/v1/resources/{resource_id}", headers=service.coordinator)).json()

    assert detail["email"] == email.lower()
    assert detail["phone"] == "+46701234567"
    assert detail["organisation_number"] == "556036-0793"
    assert detail["sector"] == "F"
    assert detail["languages"] == ["sv", "en"]
    assert detail["competences"] == ["mentoring"]
    assert detail["tags"] == ["lärlingar"]
    assert detail["registered_by"] == "self"


INVALID_FIELDS: list[tuple[str, Any]] = [
    ("name", ""),
    ("name", "Anna\x00"),
    ("email", "not-an-email"),
    ("phone", "12"),
    ("phone", "+46 70 123"),
    ("organisation_name", "   "),
    ("organisation_type", "startup"),
    ("organisation_number", "556036-0792"),
    ("role_title", "x" * 201),
    ("sector", "Z"),
    ("competences", []),
    ("competences", ["juggling"]),
    ("tags", ["x" * 51]),
    ("themes", []),
    ("themes", ["space_travel"]),
    ("capacity", 0),
    ("capacity", 6),
    ("hours_per_month", 0),
    ("languages", []),
    ("languages", ["xx"]),
    ("language", "de"),
    ("consent", False),
]


@pytest.mark.parametrize(("field", "value"), INVALID_FIELDS)
async def test_each_invalid_field_is_refused_with_422_naming_it(service: Service, field: str, value: Any) -> None:
    response = await service.client.post("/api/v1/resources", json=registration(**{field: value}))

    assert response.status_code == 422
    assert [error["field"].split(".")[0] for error in response.json()["errors"]] == [field]


async def test_a_registration_without_consent_is_refused(service: Service) -> None:
    body = registration()
    del body["consent"]

    response = await service.client.post("/api/v1/resources", json=body)

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "consent"


async def test_empty_optional_fields_are_taken_as_not_given(service: Service) -> None:
    resource_id, _ = await service.register(phone="", organisation_number="", sector="", hours_per_month=None)

    detail = (await service.client.get(f"/api/v1/resources/{resource_id}", headers=service.coordinator)).json()

    assert (detail["phone"], detail["organisation_number"], detail["sector"]) == (None, None, None)


async def test_registering_a_pending_email_again_creates_no_duplicate_and_sends_a_new_link(service: Service) -> None:
    email = unique_email()
    first = await service.client.post("/api/v1/resources", json=registration(email=email))
    old_link = await service.confirm_url(first.json()["id"])

    again = await service.client.post("/api/v1/resources", json=registration(email=email, role_title="VD"))

    assert again.status_code == 201 and again.json()["status"] == first.json()["status"]
    assert again.json()["id"] != first.json()["id"]  # whoever sent it learns nobody's id
    found = await service.client.get("/api/v1/resources", params={"q": email}, headers=service.coordinator)
    assert found.json()["total"] == 1
    assert found.json()["items"][0]["role_title"] != "VD"  # the sender may not own the address: nothing is taken
    links = [
        e["payload"]["confirm_url"] for e in await service.events("ResourceConfirmationRequested", first.json()["id"])
    ]
    assert len(links) == 2 and links[0] == old_link != links[1]
    replaced = await service.client.get(confirmation(old_link))
    assert replaced.status_code == 410 and replaced.json()["state"] == "replaced"
    assert (await service.client.post(confirmation(old_link))).status_code == 410


async def test_registering_an_active_email_again_answers_the_same_and_mails_the_profile_link(service: Service) -> None:
    resource_id, body, profile_url = await service.active_resource()
    new = await service.client.post("/api/v1/resources", json=registration())

    again = await service.client.post("/api/v1/resources", json={**body, "role_title": "Someone else's idea"})

    assert again.status_code == new.status_code == 201
    assert again.json().keys() == new.json().keys() and again.json()["status"] == new.json()["status"]
    assert again.json()["id"] != resource_id  # the answer names nobody's profile
    assert again.headers.keys() - {"x-correlation-id"} == new.headers.keys() - {"x-correlation-id"}
    [told] = await service.events("ResourceProfileLinkRequested", resource_id)
    assert (told["schema_version"], told["payload"]["profile_link_version"]) == (2, 0)  # the same link, no token
    told_url = await service.profile_url(resource_id, "ResourceProfileLinkRequested")
    # Links are signed with the moment they were made, so compare whose profile they open.
    told_token, first_token = (token_of(url, "my/profile") for url in (told_url, profile_url))
    opened = [await service.client.get(f"/api/v1/my/profile/{token}") for token in (told_token, first_token)]
    assert opened[0].status_code == 200 and opened[0].json() == opened[1].json()
    assert told["payload"]["email"] == body["email"]
    assert len(await service.events("ResourceConfirmationRequested", resource_id)) == 1
    detail = (await service.client.get(f"/api/v1/resources/{resource_id}", headers=service.coordinator)).json()
    assert (detail["status"], detail["role_title"]) == ("active", body["role_title"])


def confirmation(link: str) -> str:
    """The JSON endpoint behind a confirmation link (the link opens the web's page, which asks it)."""
    return f"/api/v1/confirmations/{token_of(link, 'confirm')}"


async def test_reading_the_confirmation_link_never_confirms(service: Service) -> None:
    resource_id, body = await service.register()
    link = await service.confirm_url(resource_id)

    for _ in range(3):  # a mail scanner, a preview, the person
        opened = await service.client.get(confirmation(link))
        assert opened.status_code == 200
        assert opened.json()["state"] == "awaiting_confirmation" and not opened.json()["just_confirmed"]
        assert opened.json()["organisation_name"] == body["organisation_name"]
        assert opened.json()["profile_token"] is None

    assert await service.status_of(resource_id) == "pending_confirmation"
    assert await service.events("ResourceRegistered", resource_id) == []
    assert opened.headers["cache-control"] == "no-store" and opened.headers["referrer-policy"] == "no-referrer"


async def test_confirming_announces_the_resource_and_gives_the_profile_link(service: Service) -> None:
    resource_id, body = await service.register()

    confirmed = await service.client.post(confirmation(await service.confirm_url(resource_id)))

    assert confirmed.status_code == 200
    assert confirmed.json()["state"] == "already_confirmed" and confirmed.json()["just_confirmed"] is True
    assert await service.status_of(resource_id) == "active"
    [registered] = await service.events("ResourceRegistered", resource_id)
    payload = registered["payload"]
    assert payload["registered_by"] == "self"
    assert registered["schema_version"] == 2 and payload["profile_link_version"] == 0
    assert payload["profile_url"] is None  # the link is signed by notifications when it sends the welcome
    assert payload["profile"]["email"] == body["email"]
    assert payload["profile"]["competences"] == ["recruitment", "mentoring"]
    assert payload["profile"]["capacity"] == 2
    mine = await service.client.get(f"/api/v1/my/profile/{confirmed.json()['profile_token']}")
    assert mine.status_code == 200 and mine.json()["id"] == resource_id


async def test_a_used_link_says_already_confirmed_and_changes_nothing(service: Service) -> None:
    resource_id, _ = await service.register(language="en")
    link = confirmation(await service.confirm_url(resource_id))
    await service.client.post(link)

    pressed_again = await service.client.post(link)
    opened_again = await service.client.get(link)

    assert pressed_again.status_code == opened_again.status_code == 200
    assert pressed_again.json()["state"] == opened_again.json()["state"] == "already_confirmed"
    assert not pressed_again.json()["just_confirmed"] and pressed_again.json()["profile_token"] is None
    assert len(await service.events("ResourceRegistered", resource_id)) == 1


async def test_an_expired_link_is_gone_until_registering_again_sends_a_new_one(service: Service) -> None:
    resource_id, body = await service.register(language="en")
    link = confirmation(await service.confirm_url(resource_id))

    with service.clock.later(days=7, seconds=1):
        opened = await service.client.get(link)
        pressed = await service.client.post(link)
        assert await service.status_of(resource_id) == "pending_confirmation"
        await service.client.post("/api/v1/resources", json=body)
        fresh = confirmation(await service.confirm_url(resource_id))
        assert (await service.client.post(fresh)).status_code == 200

    assert opened.status_code == pressed.status_code == 410
    assert opened.json()["state"] == pressed.json()["state"] == "expired"
    assert await service.status_of(resource_id) == "active"


async def test_a_link_just_before_expiry_still_confirms(service: Service) -> None:
    resource_id, _ = await service.register()

    with service.clock.later(days=6, hours=23):
        await service.client.post(confirmation(await service.confirm_url(resource_id)))

    assert await service.status_of(resource_id) == "active"


@pytest.mark.parametrize("tamper", [lambda token: token[:-2] + "xx", lambda token: token + "a", lambda _: "abc"])
async def test_an_altered_link_is_refused_and_confirms_nothing(service: Service, tamper: Any) -> None:
    resource_id, _ = await service.register()
    path = f"/api/v1/confirmations/{tamper(token_of(await service.confirm_url(resource_id), 'confirm'))}"

    assert (await service.client.get(path)).status_code == 404
    assert (await service.client.post(path)).status_code == 404
    assert await service.status_of(resource_id) == "pending_confirmation"


async def test_a_profile_link_is_no_confirmation_link(service: Service) -> None:
    _, _, profile_url = await service.active_resource()
    other_id, _ = await service.register()

    as_confirmation = f"/api/v1/confirmations/{token_of(profile_url, 'my/profile')}"
    assert (await service.client.post(as_confirmation)).status_code == 404
    assert await service.status_of(other_id) == "pending_confirmation"


async def test_the_pages_behind_the_links_are_the_webs(service: Service) -> None:
    resource_id, _ = await service.register()
    token = token_of(await service.confirm_url(resource_id), "confirm")

    assert (await service.client.get(f"/confirm/{token}")).status_code == 404
    assert (await service.client.post(f"/confirm/{token}")).status_code == 404
    assert await service.status_of(resource_id) == "pending_confirmation"


async def test_the_taxonomy_is_served(service: Service) -> None:
    taxonomy = (await service.client.get("/api/v1/taxonomy")).json()

    assert {"code": "recruitment", "sv": "Rekrytering", "en": "Recruitment"} in taxonomy["competences"]


async def test_public_registration_is_rate_limited(service: Service) -> None:
    settings = service.settings.model_copy(update={"public_rate_limit": "2/minute"})
    app = create_app(settings)

    # A visitor of their own: the counters are in the service's database, where this module's other tests count too.
    transport = httpx.ASGITransport(app=app, client=("198.51.100.77", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        answers = [(await client.post("/api/v1/resources", json=registration())) for _ in range(3)]
    await app.state.infra.engine.dispose()

    assert [a.status_code for a in answers] == [201, 201, 429]
    assert int(answers[2].headers["retry-after"]) > 0


async def test_a_person_who_withdrew_can_come_back_through_the_same_door(service: Service) -> None:
    resource_id, body, profile_url = await service.active_resource()
    withdrawn = await service.client.post(f"/api/v1/my/profile/{token_of(profile_url, 'my/profile')}/withdraw")
    assert withdrawn.status_code == 200

    again = await service.client.post("/api/v1/resources", json={**body, "capacity": 1, "role_title": "Someone"})
    assert await service.status_of(resource_id) == "withdrawn"  # until the address's owner presses the link
    await service.client.post(confirmation(await service.confirm_url(resource_id)))

    assert again.json()["status"] == "pending_confirmation" and again.json()["id"] != resource_id
    assert await service.status_of(resource_id) == "active"
    detail = (await service.client.get(f"/api/v1/resources/{resource_id}", headers=service.coordinator)).json()
    assert (detail["capacity"], detail["role_title"]) == (body["capacity"], body["role_title"])  # nothing taken
    types = [e["event_type"] for e in await service.events(resource_id=resource_id)]
    assert types == [
        "ResourceConfirmationRequested",
        "ResourceRegistered",
        "ResourceWithdrawn",
        "ResourceConfirmationRequested",
        "ResourceRegistered",
    ]
