"""A new resource's whole way, with the events read from the real broker's namespaced topic."""

from __future__ import annotations

import pytest

from services.resources.tests.factories import Service, profile, token_of
from shared.contracts import Envelope, Topic
from shared.contracts.resources import ResourceConfirmationRequested, ResourceErased, ResourceRegistered
from shared.testing import Record, read_records

pytestmark = pytest.mark.integration


def about(resource_id: str, event_type: str) -> object:
    def holds(records: list[Record]) -> bool:
        return any(r.key == resource_id.encode() and r.json()["event_type"] == event_type for r in records)

    return holds


async def events_on_the_topic(service: Service, resource_id: str, until: str) -> list[Envelope]:
    topic = service.namespace + Topic.RESOURCES
    bootstrap = service.settings.platform.kafka_bootstrap
    records = await read_records(bootstrap, topic, until=about(resource_id, until))  # type: ignore[arg-type]
    return [Envelope.model_validate_json(r.value) for r in records if r.key == resource_id.encode()]


async def test_register_confirm_appear_active_update_and_erase_over_the_real_broker(service: Service) -> None:
    client = service.client
    response = await client.post(
        "/api/v1/resources", json=dict(profile(), consent=True), headers={"X-Correlation-ID": "portal-42"}
    )
    resource_id = response.json()["id"]

    # The confirmation email is notifications' job: here the event arrives with a working link.
    [requested] = await events_on_the_topic(service, resource_id, until="ResourceConfirmationRequested")
    assert (requested.event_type, requested.producer, requested.correlation_id) == (
        "ResourceConfirmationRequested",
        "resources",
        "portal-42",
    )
    confirm_url = ResourceConfirmationRequested.model_validate(requested.payload).confirm_url
    confirmation = f"/api/v1/confirmations/{token_of(confirm_url, 'confirm')}"
    assert (await client.get(confirmation)).json()["state"] == "awaiting_confirmation"
    assert (await client.post(confirmation)).status_code == 200

    envelopes = await events_on_the_topic(service, resource_id, until="ResourceRegistered")
    registered = ResourceRegistered.model_validate(envelopes[-1].payload)
    assert registered.registered_by == "self" and registered.profile.capacity == 2
    found = await client.get(
        "/api/v1/resources",
        params={"q": registered.profile.email, "status": "active", "competence": "mentoring"},
        headers=service.coordinator,
    )
    assert [item["id"] for item in found.json()["items"]] == [resource_id]

    assert registered.profile_url is None  # no event on the topic carries the profile link
    token = token_of(service.sign_profile_link(resource_id, registered.profile_link_version), "my/profile")
    updated = await client.put(f"/api/v1/my/profile/{token}", json=profile(email=registered.profile.email, capacity=1))
    assert updated.status_code == 200
    assert (await client.delete(f"/api/v1/my/profile/{token}")).status_code == 204

    envelopes = await events_on_the_topic(service, resource_id, until="ResourceErased")
    assert [e.event_type for e in envelopes] == [
        "ResourceConfirmationRequested",
        "ResourceRegistered",
        "ResourceUpdated",
        "ResourceErased",
    ]
    erased = envelopes[-1]
    assert erased.payload == {"resource_id": resource_id}
    assert ResourceErased.model_validate(erased.payload).resource_id.hex == resource_id.replace("-", "")
    assert len({e.event_id for e in envelopes}) == 4 and all(
        e.schema_version == (2 if e.event_type in {"ResourceUpdated", "ResourceRegistered"} else 1) for e in envelopes
    )


async def test_no_event_on_the_resources_topic_carries_a_profile_link_only_its_version(service: Service) -> None:
    client = service.client
    resource_id, body, link = await service.active_resource()
    assert (await client.post("/api/v1/resources", json=body)).status_code == 201  # "you are registered": the link
    renewed = await client.post(f"/api/v1/my/profile/{token_of(link, 'my/profile')}/renew-link")
    assert renewed.status_code == 202
    asked = await client.post("/api/v1/my/profile/link-requests", json={"email": body["email"]})
    assert asked.status_code == 202

    bootstrap, topic = service.settings.platform.kafka_bootstrap, service.namespace + Topic.RESOURCES
    records = await read_records(bootstrap, topic, until=lambda rs: sum(r.key == resource_id.encode() for r in rs) >= 5)
    mine = [r for r in records if r.key == resource_id.encode()]
    # A token's first part is its signed subject ("<id>" or "<id>:<version>"), the same whenever it is signed.
    subjects = {service.sign_profile_link(resource_id, version).rsplit("/", 1)[1].split(".")[0] for version in (0, 1)}
    for record in mine:
        assert b"/my/profile/" not in record.value and not any(s.encode() in record.value for s in subjects)
    versions = [
        (e.event_type, e.payload["profile_link_version"], e.payload.get("reason"))
        for e in (Envelope.model_validate_json(r.value) for r in mine)
        if "profile_link_version" in e.payload
    ]
    assert versions == [
        ("ResourceRegistered", 0, None),
        ("ResourceProfileLinkRequested", 0, "registered_again"),  # the link they have; the email says so
        ("ResourceProfileLinkRequested", 1, "renewed"),  # a new version, the old link answers 410
        ("ResourceProfileLinkRequested", 1, "asked"),  # sent again by email: the current link
    ]
