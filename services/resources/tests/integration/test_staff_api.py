"""The coordinators' API: direct registration, search, detail, update, deactivation and CSV."""

from __future__ import annotations

import csv
import io
import uuid
from typing import Any

import pytest

from services.resources.tests.factories import Service, profile, unique_email

pytestmark = pytest.mark.integration

SOME_ID = str(uuid.uuid4())
STAFF_ENDPOINTS = [
    ("GET", "/api/v1/resources", None),
    ("GET", "/api/v1/resources/export.csv", None),
    ("GET", f"/api/v1/resources/{SOME_ID}", None),
    ("POST", "/api/v1/resources/direct", profile()),
    ("PUT", f"/api/v1/resources/{SOME_ID}", profile()),
    ("POST", f"/api/v1/resources/{SOME_ID}/deactivate", {}),
]
WRITES = [endpoint for endpoint in STAFF_ENDPOINTS if endpoint[0] != "GET"]
READS = [endpoint for endpoint in STAFF_ENDPOINTS if endpoint[0] == "GET"]


@pytest.mark.parametrize(("method", "path", "body"), STAFF_ENDPOINTS)
async def test_staff_endpoints_need_a_token(service: Service, method: str, path: str, body: Any) -> None:
    anonymous = await service.client.request(method, path, json=body)
    forged = await service.client.request(method, path, json=body, headers={"Authorization": "Bearer not.a.token"})

    assert anonymous.status_code == forged.status_code == 401
    assert anonymous.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(("method", "path", "body"), STAFF_ENDPOINTS)
async def test_staff_endpoints_refuse_a_token_without_a_staff_role(
    service: Service, method: str, path: str, body: Any
) -> None:
    response = await service.client.request(method, path, json=body, headers=service.staff("originator"))

    assert response.status_code == 403


@pytest.mark.parametrize(("method", "path", "body"), WRITES)
async def test_an_operator_may_not_change_anything(service: Service, method: str, path: str, body: Any) -> None:
    response = await service.client.request(method, path, json=body, headers=service.operator)

    assert response.status_code == 403


@pytest.mark.parametrize(("method", "path", "body"), READS)
async def test_an_operator_may_read(service: Service, method: str, path: str, body: Any) -> None:
    response = await service.client.request(method, path, headers=service.operator)

    assert response.status_code in {200, 404}  # 404: the made-up id


async def test_a_coordinator_registers_a_representative_who_is_active_at_once(service: Service) -> None:
    body = profile(organisation_type="municipality", organisation_name="Malmö stad", organisation_number="212000-1124")

    response = await service.client.post("/api/v1/resources/direct", json=body, headers=service.coordinator)

    assert response.status_code == 201, response.text
    created = response.json()
    assert created["status"] == "active" and created["registered_by"] == "eva.coordinator@malmo.se"
    [registered] = await service.events("ResourceRegistered", created["id"])
    assert registered["payload"]["registered_by"] == "eva.coordinator@malmo.se"
    assert registered["payload"]["profile"]["organisation_type"] == "municipality"
    assert (registered["payload"]["profile_link_version"], registered["payload"]["profile_url"]) == (0, None)
    assert await service.events("ResourceConfirmationRequested", created["id"]) == []


async def test_registering_a_known_email_directly_is_a_conflict_naming_the_resource(service: Service) -> None:
    resource_id, body = await service.register()

    response = await service.client.post(
        "/api/v1/resources/direct", json=profile(email=body["email"]), headers=service.coordinator
    )

    assert response.status_code == 409
    assert response.json()["resource_id"] == resource_id


async def test_search_filters_combine_and_values_within_a_filter_are_alternatives(service: Service) -> None:
    marker = uuid.uuid4().hex[:8]  # the free text keeps this test's people apart from the others'
    people = {
        "mentor": profile(name=f"Mentor {marker}", competences=["mentoring"], languages=["sv"], capacity=1),
        "planner": profile(
            name=f"Planner {marker}",
            competences=["urban_planning"],
            themes=["urban_development"],
            organisation_type="municipality",
            languages=["en", "ar"],
            capacity=3,
        ),
        "lawyer": profile(name=f"Lawyer {marker}", competences=["legal"], languages=["sv", "ar"], capacity=5),
    }
    ids = {}
    for key, body in people.items():
        created = await service.client.post("/api/v1/resources/direct", json=body, headers=service.coordinator)
        ids[created.json()["id"]] = key
    pending_id, _ = await service.register(name=f"Pending {marker}", competences=["recruitment"])

    async def names(**params: Any) -> list[str]:
        found = await service.client.get(
            "/api/v1/resources", params={"q": marker, **params}, headers=service.coordinator
        )
        assert found.status_code == 200, found.text
        return [item["name"].split()[0] for item in found.json()["items"]]

    assert await names() == ["Lawyer", "Mentor", "Pending", "Planner"]  # by name
    assert await names(status="active") == ["Lawyer", "Mentor", "Planner"]
    assert await names(status="pending_confirmation") == ["Pending"]
    assert await names(competence=["mentoring", "legal"]) == ["Lawyer", "Mentor"]
    assert await names(theme="urban_development") == ["Planner"]
    assert await names(organisation_type="municipality") == ["Planner"]
    assert await names(language="ar") == ["Lawyer", "Planner"]
    assert await names(language="AR", competence="legal") == ["Lawyer"]
    assert await names(min_capacity=3) == ["Lawyer", "Planner"]
    assert await names(q=f"planner {marker}".upper()) == ["Planner"]
    assert await names(q=f"mentor {marker}", competence="legal") == []  # different filters must all hold
    assert pending_id not in ids


async def test_free_text_finds_organisation_role_email_and_tags(service: Service) -> None:
    marker = uuid.uuid4().hex[:8]
    email = unique_email(f"tagged{marker}")
    created = await service.client.post(
        "/api/v1/resources/direct",
        json=profile(
            email=email, organisation_name=f"Org {marker}", role_title=f"Roll {marker}", tags=[f"tag{marker}"]
        ),
        headers=service.coordinator,
    )
    resource_id = created.json()["id"]

    for text in (email.upper(), f"org {marker}", f"roll {marker}", f"TAG{marker}"):
        found = await service.client.get("/api/v1/resources", params={"q": text}, headers=service.coordinator)
        assert [item["id"] for item in found.json()["items"]] == [resource_id], text
    percent = await service.client.get("/api/v1/resources", params={"q": "%"}, headers=service.coordinator)
    assert percent.status_code == 200 and percent.json()["total"] == 0  # a wildcard is just a character


async def test_search_pages_through_the_results(service: Service) -> None:
    marker = uuid.uuid4().hex[:8]
    for n in range(5):
        await service.client.post(
            "/api/v1/resources/direct", json=profile(name=f"Person {n} {marker}"), headers=service.coordinator
        )

    page = await service.client.get(
        "/api/v1/resources", params={"q": marker, "limit": 2, "offset": 2}, headers=service.coordinator
    )

    body = page.json()
    assert (body["total"], body["limit"], body["offset"]) == (5, 2, 2)
    assert [item["name"].split()[1] for item in body["items"]] == ["2", "3"]


@pytest.mark.parametrize(
    "params", [{"limit": 0}, {"limit": 201}, {"offset": -1}, {"min_capacity": 6}, {"language": "xx"}, {"status": "x"}]
)
async def test_bad_search_parameters_are_refused_with_422(service: Service, params: dict[str, Any]) -> None:
    response = await service.client.get("/api/v1/resources", params=params, headers=service.coordinator)

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"].split(".")[0] == next(iter(params))


async def test_an_unknown_resource_is_404(service: Service) -> None:
    response = await service.client.get(f"/api/v1/resources/{uuid.uuid4()}", headers=service.coordinator)

    assert response.status_code == 404


async def test_a_coordinator_updates_a_profile_and_the_others_are_told(service: Service) -> None:
    resource_id, body, _ = await service.active_resource()

    response = await service.client.put(
        f"/api/v1/resources/{resource_id}", json=profile(**{**body, "capacity": 4}), headers=service.coordinator
    )

    assert response.status_code == 200, response.text
    assert response.json()["capacity"] == 4
    [updated] = await service.events("ResourceUpdated", resource_id)
    assert updated["payload"]["profile"]["capacity"] == 4 and updated["payload"]["active"] is True


async def test_updating_a_pending_registration_tells_nobody_yet(service: Service) -> None:
    resource_id, body = await service.register()

    response = await service.client.put(
        f"/api/v1/resources/{resource_id}", json=profile(**{**body, "capacity": 3}), headers=service.coordinator
    )

    assert response.status_code == 200 and response.json()["capacity"] == 3
    assert await service.events("ResourceUpdated", resource_id) == []


async def test_an_update_may_not_take_another_resources_email(service: Service) -> None:
    resource_id, body, _ = await service.active_resource()
    other_id, other = await service.register()

    response = await service.client.put(
        f"/api/v1/resources/{resource_id}",
        json=profile(**{**body, "email": other["email"]}),
        headers=service.coordinator,
    )

    assert response.status_code == 409 and response.json()["resource_id"] == other_id


async def test_deactivating_withdraws_the_resource_with_the_reason(service: Service) -> None:
    resource_id, _, _ = await service.active_resource()

    response = await service.client.post(
        f"/api/v1/resources/{resource_id}/deactivate", json={"reason": "left the company"}, headers=service.coordinator
    )

    assert response.status_code == 200
    assert response.json()["status"] == "withdrawn"
    [withdrawn] = await service.events("ResourceWithdrawn", resource_id)
    assert withdrawn["payload"] == {"resource_id": resource_id, "reason": "left the company"}


async def test_deactivating_an_unconfirmed_registration_is_refused_with_409(service: Service) -> None:
    resource_id, _ = await service.register()

    response = await service.client.post(f"/api/v1/resources/{resource_id}/deactivate", headers=service.coordinator)

    assert response.status_code == 409
    assert response.json()["current_status"] == "pending_confirmation"


async def test_the_csv_export_holds_the_filtered_list(service: Service) -> None:
    marker = uuid.uuid4().hex[:8]
    for name in (f"=HYPERLINK(1) {marker}", f"Bertil {marker}"):
        await service.client.post("/api/v1/resources/direct", json=profile(name=name), headers=service.coordinator)
    await service.register(name=f"Pending {marker}")

    response = await service.client.get(
        "/api/v1/resources/export.csv", params={"q": marker, "status": "active"}, headers=service.coordinator
    )

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["x-total-count"] == "2"
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [row["name"] for row in rows] == [f"'=HYPERLINK(1) {marker}", f"Bertil {marker}"]
    assert rows[1]["competences"] == "recruitment; mentoring"
    assert rows[1]["phone"] == "+46701234567" and rows[1]["status"] == "active"
