"""The originator's status link carries a version: asking for a new one (reference + contact email) revokes
every link sent before and puts the new one in InitiativeStatusLinkRequested (real PostgreSQL + Kafka)."""

from __future__ import annotations

import json
import uuid

import pytest

from services.intake.links import StatusLinks
from services.intake.tests.conftest import SECRET, Intake
from shared.settings import PlatformSettings
from shared.testing import query

pytestmark = pytest.mark.integration
WEB = str(PlatformSettings().web_public_url).rstrip("/")


async def links_in(intake: Intake, event_type: str) -> list[str]:
    """The tokens of the status links the outbox's `event_type` events carry, oldest first."""
    sql = "SELECT envelope FROM outbox WHERE event_type = :t ORDER BY id"
    rows = await query(intake.database_url, sql, t=event_type)
    return [json.loads(r["envelope"])["payload"]["status_url"].removeprefix(f"{WEB}/my/initiatives/") for r in rows]


async def test_a_new_status_link_revokes_every_link_sent_before_and_only_the_new_one_works(intake: Intake) -> None:
    created = await intake.submit()
    (first,) = await links_in(intake, "InitiativeSubmitted")
    # A link sent before versions existed names the initiative alone: it is version 0, as the receipt's.
    legacy = StatusLinks(WEB, SECRET).token(created["id"])
    for token in (first, legacy):
        assert (await intake.client.get(f"/api/v1/my/initiatives/{token}")).status_code == 200

    asked = await intake.client.post(
        "/api/v1/my/initiatives/link-requests",
        json={"reference": created["reference"].lower(), "email": "ANNA.ANDERSSON@acme.example"},
    )
    assert asked.status_code == 202, asked.text
    (fresh,) = await links_in(intake, "InitiativeStatusLinkRequested")
    for revoked in (first, legacy):
        gone = await intake.client.get(f"/api/v1/my/initiatives/{revoked}")
        assert gone.status_code == 410 and gone.json()["state"] == "replaced"
        withdraw = await intake.client.post(f"/api/v1/my/initiatives/{revoked}/withdraw", json={})
        assert withdraw.status_code == 410
    assert (await intake.client.get(f"/api/v1/my/initiatives/{fresh}")).json()["reference"] == created["reference"]
    # Later events carry the current link, so the next email's link works too.
    await intake.client.post(f"/api/v1/initiatives/{created['id']}/accept", headers=intake.coordinator)
    (accepted,) = await links_in(intake, "InitiativeAccepted")
    # The same link, signed again (its signature's timestamp moves on by the second): it names the same version.
    links = StatusLinks(WEB, SECRET)
    assert links.read_versioned(accepted) == links.read_versioned(fresh) == (uuid.UUID(created["id"]), 1)
    assert (await intake.client.get(f"/api/v1/my/initiatives/{accepted}")).status_code == 200
    assert await intake.scalar("SELECT status FROM initiatives") == "accepted", "the withdrawals changed nothing"


async def test_a_pair_that_does_not_match_changes_nothing_and_gets_the_same_answer(intake: Intake) -> None:
    created = await intake.submit()
    answers = [
        await intake.client.post("/api/v1/my/initiatives/link-requests", json=body)
        for body in (
            {"reference": created["reference"], "email": "someone.else@example.se"},
            {"reference": "MM-1999-0001", "email": "anna.andersson@acme.example"},
            {"reference": created["reference"], "email": "anna.andersson@acme.example"},
        )
    ]
    assert [a.status_code for a in answers] == [202, 202, 202]
    assert answers[0].json() == answers[1].json() == answers[2].json(), "the answer never tells which matched"
    assert len(await links_in(intake, "InitiativeStatusLinkRequested")) == 1, "only the matching pair"
    assert await intake.scalar("SELECT status_link_version FROM initiatives") == 1


async def test_a_request_for_a_new_status_link_names_a_bad_field_with_422(intake: Intake) -> None:
    answer = await intake.client.post(
        "/api/v1/my/initiatives/link-requests", json={"reference": "42", "email": "anna.andersson@acme.example"}
    )
    assert answer.status_code == 422
    assert [e["field"] for e in answer.json()["errors"]] == ["reference"]
