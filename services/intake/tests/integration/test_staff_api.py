"""The coordinators' own steps on an initiative (real PostgreSQL + Kafka): the lead coordinator and the
filter by lead, private staff notes that never leave the staff's view, and initiatives registered on the
originator's behalf after a personal meeting."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest

from services.intake.tests.conftest import Intake
from services.intake.tests.factories import valid_initiative

pytestmark = pytest.mark.integration


async def payloads(intake: Intake, event_type: str) -> list[dict[str, Any]]:
    assert event_type.isidentifier()
    envelopes = await intake.scalars(f"SELECT envelope FROM outbox WHERE event_type = '{event_type}' ORDER BY id")  # noqa: S608
    return [json.loads(e)["payload"] for e in envelopes]


async def test_a_coordinator_assigns_a_lead_and_the_list_and_export_filter_by_it(intake: Intake) -> None:
    mine, theirs, nobodys = [await intake.submit(title=t) for t in ("Solceller", "Språkcafé", "Digital handel")]
    eva, olle = intake.coordinator, intake.token("coordinator", email="olle@malmo.se")

    first = await intake.client.post(
        f"/api/v1/initiatives/{mine['id']}/lead", json={"lead": "eva.coordinator@malmo.se"}, headers=eva
    )
    await intake.client.post(f"/api/v1/initiatives/{theirs['id']}/lead", json={"lead": "olle@malmo.se"}, headers=eva)
    await intake.client.post(f"/api/v1/initiatives/{theirs['id']}/lead", json={"lead": "olle@malmo.se"}, headers=olle)

    assert first.status_code == 200 and first.json()["lead"] == "eva.coordinator@malmo.se"

    async def references(**params: Any) -> list[str]:
        answer = await intake.client.get("/api/v1/initiatives", params={**params, "sort": "reference"}, headers=eva)
        assert answer.status_code == 200, answer.text
        return [item["reference"] for item in answer.json()["items"]]

    assert await references(lead="Eva.Coordinator@malmo.se") == [mine["reference"]]
    assert await references(lead="none") == [nobodys["reference"]]
    assert await references(lead="olle@malmo.se", status="submitted") == [theirs["reference"]]
    exported = await intake.client.get("/api/v1/initiatives/export.csv", params={"lead": "none"}, headers=eva)
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [(r["reference"], r["lead"], r["channel"]) for r in rows] == [(nobodys["reference"], "", "portal")]

    detail = (await intake.client.get(f"/api/v1/initiatives/{theirs['id']}", headers=eva)).json()
    assert detail["lead"] == "olle@malmo.se" and detail["status"] == "submitted"
    assert [(h["action"], h["note"]) for h in detail["history"]] == [("submit", None), ("assign_lead", "olle@malmo.se")]
    told = await payloads(intake, "InitiativeLeadAssigned")
    assert [(p["lead"], p["assigned_by"]) for p in told] == [
        ("eva.coordinator@malmo.se", "eva.coordinator@malmo.se"),
        ("olle@malmo.se", "eva.coordinator@malmo.se"),
    ]  # olle's repeat of the same lead was no step

    unassigned = await intake.client.post(f"/api/v1/initiatives/{mine['id']}/lead", json={"lead": None}, headers=olle)
    assert unassigned.status_code == 200 and unassigned.json()["lead"] is None
    assert await references(lead="none") == [mine["reference"], nobodys["reference"]]


async def test_only_coordinators_assign_leads_and_add_notes(intake: Intake) -> None:
    created = await intake.submit()
    operator = intake.token("operator", email="ops@malmo.se")
    url = f"/api/v1/initiatives/{created['id']}"
    assert (await intake.client.post(f"{url}/lead", json={"lead": "ops@malmo.se"}, headers=operator)).status_code == 403
    assert (await intake.client.post(f"{url}/notes", json={"text": "hej"}, headers=operator)).status_code == 403
    assert (await intake.client.post(f"{url}/notes", json={"text": "hej"})).status_code == 401
    empty = await intake.client.post(f"{url}/notes", json={"text": " "}, headers=intake.coordinator)
    assert empty.status_code == 422 and empty.json()["errors"][0]["field"] == "text"
    assert (await intake.client.post(f"{url}/lead", json={}, headers=intake.coordinator)).status_code == 422
    assert await intake.scalar("SELECT count(*) FROM initiative_notes") == 0


async def test_private_notes_are_shown_to_staff_and_never_to_the_originator_nor_in_events(intake: Intake) -> None:
    created = await intake.submit()
    url = f"/api/v1/initiatives/{created['id']}"
    first = await intake.client.post(
        f"{url}/notes", json={"text": "Ringde Anna: rektorn är tveksam."}, headers=intake.coordinator
    )
    olle = intake.token("coordinator", email="olle@malmo.se")
    await intake.client.post(f"{url}/notes", json={"text": "Möte bokat 12/12."}, headers=olle)

    assert first.status_code == 201 and first.json()["notes"][0]["author"] == "eva.coordinator@malmo.se"
    operator = intake.token("operator", email="ops@malmo.se")
    detail = (await intake.client.get(url, headers=operator)).json()
    assert [(n["author"], n["text"]) for n in detail["notes"]] == [
        ("eva.coordinator@malmo.se", "Ringde Anna: rektorn är tveksam."),
        ("olle@malmo.se", "Möte bokat 12/12."),
    ]
    assert len(detail["history"]) == 1 and detail["status"] == "submitted"
    told = await payloads(intake, "InitiativeNoteAdded")
    assert [p["author"] for p in told] == ["eva.coordinator@malmo.se", "olle@malmo.se"]
    assert "rektorn" not in json.dumps(told)

    (submitted,) = await payloads(intake, "InitiativeSubmitted")
    token = submitted["status_url"].rsplit("/", 1)[1]
    view = await intake.client.get(f"/api/v1/my/initiatives/{token}")
    assert view.status_code == 200 and "rektorn" not in view.text and "notes" not in view.json()


async def test_a_coordinator_registers_an_initiative_from_a_personal_meeting(intake: Intake) -> None:
    body = valid_initiative(title="Praktikplatser i Fosie")
    operator = intake.token("operator", email="ops@malmo.se")
    assert (await intake.client.post("/api/v1/initiatives/on-behalf", json=body)).status_code == 401
    assert (await intake.client.post("/api/v1/initiatives/on-behalf", json=body, headers=operator)).status_code == 403
    unconfirmed = await intake.client.post(
        "/api/v1/initiatives/on-behalf", json={**body, "consent": False}, headers=intake.coordinator
    )
    assert unconfirmed.status_code == 422 and unconfirmed.json()["errors"][0]["field"] == "consent"

    headers = {**intake.coordinator, "Idempotency-Key": "meeting-1"}
    answer = await intake.client.post("/api/v1/initiatives/on-behalf", json=body, headers=headers)
    again = await intake.client.post("/api/v1/initiatives/on-behalf", json=body, headers=headers)

    assert answer.status_code == 201 and answer.json()["status"] == "submitted"
    assert again.json() == answer.json() and again.headers["Idempotent-Replayed"] == "true"
    detail = (await intake.client.get(f"/api/v1/initiatives/{answer.json()['id']}", headers=intake.coordinator)).json()
    assert (detail["channel"], detail["registered_by"]) == ("meeting", "eva.coordinator@malmo.se")
    assert detail["history"][0]["actor"] == "eva.coordinator@malmo.se"
    (submitted,) = await payloads(intake, "InitiativeSubmitted")
    assert submitted["channel"] == "meeting" and submitted["registered_by"] == "eva.coordinator@malmo.se"
    assert submitted["originator"]["contact_email"] == body["originator"]["contact_email"]
    assert "/my/initiatives/" in submitted["status_url"]  # the receipt carries the private link
    portal = await intake.submit(title="Från portalen")
    listed = await intake.client.get("/api/v1/initiatives", params={"sort": "reference"}, headers=intake.coordinator)
    assert [(i["reference"], i["channel"]) for i in listed.json()["items"]] == [
        (answer.json()["reference"], "meeting"),
        (portal["reference"], "portal"),
    ]
