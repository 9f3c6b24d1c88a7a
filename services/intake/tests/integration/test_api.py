"""Intake's HTTP API as the portal, the originator and the coordinators use it (real PostgreSQL + Kafka)."""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from typing import Any

import pytest

from services.intake.tests.conftest import Intake, intake_settings, running
from services.intake.tests.factories import valid_initiative
from shared.settings import PlatformSettings
from shared.testing import eventually

pytestmark = pytest.mark.integration
WEB = str(PlatformSettings().web_public_url).rstrip("/")  # where every private link opens a page


async def test_a_valid_initiative_gets_201_with_a_reference_and_the_submitted_status(intake: Intake) -> None:
    typed = {"organisation_number": "5560360793", "contact_phone": "070-123 45 67"}  # as a person types them
    as_typed = {**valid_initiative()["originator"], **typed}
    answer = await intake.client.post("/api/v1/initiatives", json=valid_initiative(originator=as_typed))
    assert answer.status_code == 201
    body = answer.json()
    assert re.fullmatch(r"MM-\d{4}-\d{4,}", body["reference"])
    assert body["status"] == "submitted" and uuid.UUID(body["id"])
    assert answer.headers["Location"] == f"/api/v1/initiatives/{body['id']}"
    detail = (await intake.client.get(f"/api/v1/initiatives/{body['id']}", headers=intake.coordinator)).json()
    assert detail["originator"]["organisation_number"] == "556036-0793"  # normalised
    assert detail["originator"]["contact_phone"] == "+46701234567"  # E.164
    assert detail["group_size"] == {"min": 3, "max": 5}


async def test_references_are_sequential_within_the_year(intake: Intake) -> None:
    first, second = await intake.submit(), await intake.submit(title="Another idea for Malmö")
    year, number = first["reference"].rsplit("-", 1)
    assert second["reference"] == f"{year}-{int(number) + 1:04d}"


INVALID = [
    ("title", {"title": "Hej"}, "title"),
    ("title", {"title": "x" * 201}, "title"),
    ("summary", {"summary": "x" * 501}, "summary"),
    ("description", {"description": "x" * 10_001}, "description"),
    ("themes", {"themes": []}, "themes"),
    ("themes", {"themes": ["not_a_theme"]}, "themes.0"),
    ("seeking", {"seeking": []}, "seeking"),
    ("competences", {"competences_needed": ["juggling"]}, "competences_needed.0"),
    ("group size", {"group_size": {"min": 1, "max": 5}}, "group_size.min"),
    ("group size", {"group_size": {"min": 2, "max": 13}}, "group_size.max"),
    ("group size", {"group_size": {"min": 6, "max": 4}}, "group_size"),
    ("language", {"language": "de"}, "language"),
    ("consent", {"consent": False}, "consent"),
    ("unknown field", {"colour": "blue"}, "colour"),
    ("control characters", {"title": "Sommarjobb\x00 för unga"}, "title"),  # found by schemathesis: NUL gave 500
]


@pytest.mark.parametrize(("what", "change", "field"), INVALID, ids=[f"{w}:{f}" for w, _, f in INVALID])
async def test_a_bad_field_gets_422_naming_it_and_nothing_is_stored(
    intake: Intake, what: str, change: dict[str, Any], field: str
) -> None:
    answer = await intake.client.post("/api/v1/initiatives", json=valid_initiative(**change))
    assert answer.status_code == 422
    errors = answer.json()["errors"]
    assert field in [e["field"] for e in errors], errors
    assert all(e["reason"] for e in errors)
    assert await intake.scalar("SELECT count(*) FROM initiatives") == 0
    assert await intake.scalar("SELECT count(*) FROM outbox") == 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"organisation_number": "556036-0794"}, "originator.organisation_number"),  # wrong check digit
        ({"contact_email": "anna-at-acme"}, "originator.contact_email"),
        ({"contact_phone": "12"}, "originator.contact_phone"),
        ({"organisation_type": "club"}, "originator.organisation_type"),
        ({"contact_name": ""}, "originator.contact_name"),
    ],
)
async def test_a_bad_originator_field_gets_422_naming_it(intake: Intake, change: dict[str, Any], field: str) -> None:
    originator = {**valid_initiative()["originator"], **change}
    answer = await intake.client.post("/api/v1/initiatives", json=valid_initiative(originator=originator))
    assert answer.status_code == 422
    assert field in [e["field"] for e in answer.json()["errors"]]
    assert await intake.scalar("SELECT count(*) FROM initiatives") == 0


async def test_a_retry_with_the_same_idempotency_key_returns_the_same_initiative(intake: Intake) -> None:
    headers = {"Idempotency-Key": "portal-7f3a"}
    first = await intake.client.post("/api/v1/initiatives", json=valid_initiative(), headers=headers)
    retry = await intake.client.post("/api/v1/initiatives", json=valid_initiative(), headers=headers)
    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert await intake.scalar("SELECT count(*) FROM initiatives") == 1
    assert await intake.scalar("SELECT count(*) FROM outbox WHERE event_type = 'InitiativeSubmitted'") == 1

    other = await intake.client.post("/api/v1/initiatives", json=valid_initiative(title="Other idea"), headers=headers)
    assert other.status_code == 409
    assert await intake.scalar("SELECT count(*) FROM initiatives") == 1


async def test_staff_endpoints_need_a_token_and_decisions_need_the_coordinator_role(intake: Intake) -> None:
    created = await intake.submit()
    accept = f"/api/v1/initiatives/{created['id']}/accept"
    assert (await intake.client.get("/api/v1/initiatives")).status_code == 401
    assert (await intake.client.post(accept)).status_code == 401
    assert (await intake.client.post(accept, headers={"Authorization": "Bearer nonsense"})).status_code == 401
    operator = intake.token("operator", email="ops@malmo.se")
    assert (await intake.client.get("/api/v1/initiatives", headers=operator)).status_code == 200
    assert (await intake.client.post(accept, headers=operator)).status_code == 403
    assert (await intake.client.post(accept, headers=intake.coordinator)).status_code == 200


async def test_accept_works_once_and_a_second_accept_gets_409_with_the_current_status(intake: Intake) -> None:
    created = await intake.submit()
    url = f"/api/v1/initiatives/{created['id']}"
    first = await intake.client.post(f"{url}/accept", headers=intake.coordinator)
    assert first.status_code == 200 and first.json()["status"] == "accepted"
    second = await intake.client.post(f"{url}/accept", headers=intake.coordinator)
    assert second.status_code == 409
    assert second.json()["current_status"] == "accepted"
    rejected = await intake.client.post(f"{url}/reject", json={"reason": "late"}, headers=intake.coordinator)
    assert rejected.status_code == 409
    detail = (await intake.client.get(url, headers=intake.coordinator)).json()
    assert [h["to_status"] for h in detail["history"]] == ["submitted", "accepted"]
    assert detail["history"][1]["actor"] == "eva.coordinator@malmo.se"
    assert await intake.scalar("SELECT count(*) FROM outbox WHERE event_type = 'InitiativeAccepted'") == 1


async def test_reject_needs_a_reason_and_request_info_needs_a_message(intake: Intake) -> None:
    created = await intake.submit()
    url = f"/api/v1/initiatives/{created['id']}"
    missing = await intake.client.post(f"{url}/reject", json={}, headers=intake.coordinator)
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "reason"
    assert (
        await intake.client.post(f"{url}/request-info", json={"message": ""}, headers=intake.coordinator)
    ).status_code == 422
    rejected = await intake.client.post(
        f"{url}/reject", json={"reason": "Not a collaboration"}, headers=intake.coordinator
    )
    assert rejected.json()["status"] == "rejected"
    detail = (await intake.client.get(url, headers=intake.coordinator)).json()
    assert detail["history"][-1]["note"] == "Not a collaboration"


async def test_an_unknown_initiative_is_404(intake: Intake) -> None:
    answer = await intake.client.post(f"/api/v1/initiatives/{uuid.uuid4()}/accept", headers=intake.coordinator)
    assert answer.status_code == 404


async def test_coordinators_filter_sort_and_page_the_list(intake: Intake) -> None:
    a = await intake.submit(title="Solceller på skolor", themes=["sustainability_and_climate"])
    b = await intake.submit(
        title="Språkcafé för nyanlända",
        themes=["establishment_of_new_arrivals"],
        originator={**valid_initiative()["originator"], "organisation_type": "industry_organisation"},
    )
    c = await intake.submit(title="Digital kompetens för handeln", themes=["digitalisation"])
    await intake.client.post(f"/api/v1/initiatives/{c['id']}/accept", headers=intake.coordinator)

    async def ids(**params: Any) -> list[str]:
        answer = await intake.client.get("/api/v1/initiatives", params=params, headers=intake.coordinator)
        assert answer.status_code == 200, answer.text
        return [item["id"] for item in answer.json()["items"]]

    assert await ids(status="accepted") == [c["id"]]
    assert await ids(status=["submitted", "accepted"], sort="reference") == [a["id"], b["id"], c["id"]]
    assert await ids(theme="establishment_of_new_arrivals") == [b["id"]]
    assert await ids(organisation_type="industry_organisation") == [b["id"]]
    assert await ids(q="solceller") == [a["id"]]
    assert await ids(q="ACME BYGG", sort="title") == [c["id"], a["id"], b["id"]]
    page = (
        await intake.client.get("/api/v1/initiatives", params={"limit": 2, "offset": 2}, headers=intake.coordinator)
    ).json()
    assert page["total"] == 3 and len(page["items"]) == 1
    assert await ids(submitted_from="2999-01-01T00:00:00Z") == []
    bad = await intake.client.get("/api/v1/initiatives", params={"status": "lost"}, headers=intake.coordinator)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "status.0"
    # Found by schemathesis: year 1 at +00:01 is year 0 in UTC, which no database holds.
    ancient = {"submitted_from": "0001-01-01T00:00:00+00:01"}
    bad = await intake.client.get("/api/v1/initiatives/export.csv", params=ancient, headers=intake.coordinator)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "submitted_from"


async def test_the_filtered_list_exports_as_csv(intake: Intake) -> None:
    await intake.submit(title="Solceller på skolor")
    await intake.submit(title="Språkcafé för nyanlända")
    await intake.submit(title='=HYPERLINK("http://evil.example") språk')  # public input in a staff export
    answer = await intake.client.get(
        "/api/v1/initiatives/export.csv", params={"q": "språk"}, headers=intake.coordinator
    )
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    titles = sorted(r["title"] for r in rows)
    assert titles == ['\'=HYPERLINK("http://evil.example") språk', "Språkcafé för nyanlända"]
    assert rows[0]["themes"] == "employment; competence_provision"  # lists joined


async def test_likely_duplicates_are_shown_to_coordinators_without_blocking_the_originator(intake: Intake) -> None:
    first = await intake.submit()
    second = await intake.submit(title="Sommarjobb för unga i Rosengård 2027")
    assert second["status"] == "submitted"

    async def hinted() -> list[str]:  # noted after the commit, by intake's consumer of its own event
        detail = (await intake.client.get(f"/api/v1/initiatives/{second['id']}", headers=intake.coordinator)).json()
        return [d["reference"] for d in detail["possible_duplicates"]]

    assert await eventually(hinted) == [first["reference"]]


async def status_link(intake: Intake, reference: str) -> str:
    """The token of the private link that went out in InitiativeSubmitted (the originator's email): it opens
    the web's status page, which asks this service's /api/v1/my/initiatives/<token>."""
    envelopes = await intake.scalars("SELECT envelope FROM outbox WHERE event_type = 'InitiativeSubmitted'")
    payload = next(p for p in (json.loads(e)["payload"] for e in envelopes) if p["reference"] == reference)
    url: str = payload["status_url"]
    assert url.startswith(f"{WEB}/my/initiatives/")
    return url.removeprefix(f"{WEB}/my/initiatives/")


async def test_the_originator_answers_an_information_request_through_the_private_link(intake: Intake) -> None:
    created = await intake.submit()
    token = await status_link(intake, created["reference"])
    await intake.client.post(
        f"/api/v1/initiatives/{created['id']}/request-info",
        json={"message": "Vilka fler är med?"},
        headers=intake.coordinator,
    )
    view = (await intake.client.get(f"/api/v1/my/initiatives/{token}")).json()
    assert view["status"] == "info_requested" and view["question"] == "Vilka fler är med?" and view["can_answer"]
    # Reading the link (a mail scanner, the web's page) changes nothing.
    assert (await intake.client.get(f"/api/v1/my/initiatives/{token}")).json()["status"] == "info_requested"

    answered = await intake.client.post(
        f"/api/v1/my/initiatives/{token}/answer",
        json={"answer": "Malmö stad och två skolor", "summary": "Ny sammanfattning"},
    )
    assert answered.status_code == 200
    assert answered.json()["status"] == "submitted" and answered.json()["summary"] == "Ny sammanfattning"
    again = await intake.client.post(f"/api/v1/my/initiatives/{token}/answer", json={"answer": "again"})
    assert again.status_code == 409 and again.json()["current_status"] == "submitted"
    assert await intake.scalar("SELECT count(*) FROM outbox WHERE event_type = 'InitiativeUpdated'") == 1


async def test_the_originator_withdraws_through_the_private_link(intake: Intake) -> None:
    created = await intake.submit()
    token = await status_link(intake, created["reference"])
    withdrawn = await intake.client.post(f"/api/v1/my/initiatives/{token}/withdraw", json={})
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    view = await intake.client.get(f"/api/v1/my/initiatives/{token}")
    assert view.json()["status"] == "withdrawn" and not view.json()["can_withdraw"]


async def test_an_altered_private_link_is_refused(intake: Intake) -> None:
    created = await intake.submit()
    token = await status_link(intake, created["reference"])
    assert (await intake.client.get(f"/api/v1/my/initiatives/{token}x")).status_code == 404
    altered = f"/api/v1/my/initiatives/{token}x"
    assert (await intake.client.post(f"{altered}/withdraw", json={})).status_code == 404
    assert (await intake.client.post(f"{altered}/answer", json={"answer": "Ja"})).status_code == 404
    assert (await intake.client.get(f"/my/initiatives/{token}")).status_code == 404  # the page is the web's


async def test_an_oversized_body_is_refused_with_413(intake: Intake) -> None:
    huge = valid_initiative(description="x" * 300_000)
    answer = await intake.client.post("/api/v1/initiatives", json=huge)
    assert answer.status_code == 413
    assert await intake.scalar("SELECT count(*) FROM initiatives") == 0


async def test_the_taxonomy_is_served_with_swedish_and_english_labels(intake: Intake) -> None:
    taxonomy = (await intake.client.get("/api/v1/taxonomy")).json()
    assert {"code": "competence_provision", "sv": "Kompetensförsörjning", "en": "Competence provision"} in taxonomy[
        "themes"
    ]
    assert {t["code"] for t in taxonomy["organisation_types"]} >= {"business", "municipality"}


async def test_a_client_over_the_rate_limit_gets_429_with_retry_after(
    service_database: Any, kafka_bootstrap: str, topic_namespace: str
) -> None:
    database_url = await service_database("intake")
    settings = intake_settings(database_url, kafka_bootstrap, topic_namespace, rate_limit="2/minute")
    async with running(settings) as client:
        answers = [await client.post("/api/v1/initiatives", json=valid_initiative()) for _ in range(3)]
    assert [a.status_code for a in answers] == [201, 201, 429]
    assert 0 < int(answers[2].headers["Retry-After"]) <= 60
