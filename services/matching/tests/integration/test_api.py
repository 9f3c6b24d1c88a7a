"""Matching's HTTP API as coordinators and invited members use it (real PostgreSQL; events handed to the
idempotent consumer directly)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from services.matching.handlers import SweepGroups
from services.matching.schemas import SwapIn
from services.matching.tests.conftest import SECRET, Matching
from services.matching.tests.factories import accepted, registered, team
from shared.contracts.resources import ResourceErased, ResourceWithdrawn
from shared.settings import PlatformSettings
from shared.taxonomy import Competence, OrganisationType
from shared.testing import staff_headers

pytestmark = pytest.mark.integration
WEB = str(PlatformSettings().web_public_url).rstrip("/")  # where the links in the events open pages


async def proposal(matching: Matching, **changes: Any) -> dict[str, Any]:
    people = team()
    await matching.feed(*people)
    initiative = accepted(**changes)
    await matching.feed(initiative)
    (group,) = await matching.groups(initiative.initiative_id)
    return group


def names(group: dict[str, Any]) -> list[str]:
    return [m["name"] for m in group["members"]]


def link_path(url: str) -> str:
    """The JSON endpoint behind an invitation link (the link opens the web's page, which asks it)."""
    assert url.startswith(f"{WEB}/invitations/"), url
    return "/api/v1/invitations/" + url.removeprefix(f"{WEB}/invitations/")


async def test_an_accepted_initiative_gets_a_proposal_with_reasons(matching: Matching) -> None:
    group = await proposal(matching)
    assert group["status"] == "proposed" and group["solver"] == "cp-sat"
    assert group["initiative"]["reference"] == "MM-2026-0042"
    representative = group["members"][0]
    assert representative["role"] == "municipality_representative"
    assert representative["explanation"]["municipality_representative"] is True
    assert representative["explanation"]["text"].startswith("Municipality representative.")
    assert "Agnes Acme" not in names(group)  # from the originator's organisation
    covered = {c for m in group["members"] for c in m["explanation"]["competences_covered"]}
    assert covered == {"recruitment", "mentoring"} and group["uncovered_competences"] == []
    assert 3 <= len(group["members"]) <= 4
    (proposed,) = await matching.outbox("GroupProposed")
    assert proposed["review_url"] == f"{WEB}/staff/groups/{group['id']}"  # the console's page of the proposal
    assert [m["name"] for m in proposed["members"]] == names(group)
    assert all(m["explanation"] for m in proposed["members"])
    loads = await matching.scalar("SELECT sum(load) FROM resources")
    assert loads == len(group["members"])  # proposed seats count as load


async def test_staff_endpoints_need_a_token_operators_may_only_read(matching: Matching) -> None:
    group = await proposal(matching)
    confirm = f"/api/v1/groups/{group['id']}/confirm"
    assert (await matching.client.get("/api/v1/groups")).status_code == 401
    assert (await matching.client.post(confirm)).status_code == 401
    assert (await matching.client.post(confirm, headers={"Authorization": "Bearer nonsense"})).status_code == 401
    operator = staff_headers(SECRET, "operator", "ops@malmo.se")
    # Operators see the console read-only (issue 14): they read groups, and never change one.
    assert (await matching.client.get("/api/v1/groups", headers=operator)).status_code == 200
    assert (await matching.client.get(f"/api/v1/groups/{group['id']}", headers=operator)).status_code == 200
    assert (await matching.client.post(confirm, headers=operator)).status_code == 403
    assert (await matching.client.post(confirm, headers=matching.coordinator)).status_code == 200
    assert (
        await matching.client.get(f"/api/v1/groups/{uuid.uuid4()}", headers=matching.coordinator)
    ).status_code == 404


async def test_confirming_invites_every_member_once_and_a_second_confirm_is_409(matching: Matching) -> None:
    group = await proposal(matching)
    url = f"/api/v1/groups/{group['id']}/confirm"
    confirmed = await matching.client.post(url, headers=matching.coordinator)
    assert confirmed.json()["status"] == "confirmed" and confirmed.json()["confirmed_by"] == "eva.coordinator@malmo.se"
    again = await matching.client.post(url, headers=matching.coordinator)
    assert again.status_code == 409 and again.json()["current_status"] == "confirmed"
    invitations = await matching.outbox("MemberInvited")
    assert sorted(i["member"]["name"] for i in invitations) == sorted(names(group))
    assert len(await matching.outbox("GroupConfirmed")) == 1
    first = invitations[0]
    assert first["accept_url"] != first["decline_url"] and first["initiative_summary"].startswith("Företag")
    swap = await matching.client.post(
        f"/api/v1/groups/{group['id']}/members/{group['members'][1]['resource_id']}/swap", headers=matching.coordinator
    )
    assert swap.status_code == 409 and swap.json()["current_status"] == "confirmed"


async def test_a_coordinator_sees_replacements_and_swaps_within_the_rules(matching: Matching) -> None:
    group = await proposal(matching, group_size_min=3, group_size_max=3)
    base = f"/api/v1/groups/{group['id']}/members"
    recruiter = next(m for m in group["members"] if "recruitment" in m["explanation"]["competences_covered"])
    suggestions = await matching.client.get(
        f"{base}/{recruiter['resource_id']}/replacements", headers=matching.coordinator
    )
    assert suggestions.status_code == 200
    best = suggestions.json()[0]
    assert best["explanation"]["competences_covered"] == ["recruitment"]  # the other recruiter
    assert best["name"] not in names(group) and best["name"] != "Agnes Acme"

    swapped = await matching.client.post(f"{base}/{recruiter['resource_id']}/swap", headers=matching.coordinator)
    assert swapped.status_code == 200
    after = swapped.json()
    assert best["name"] in names(after) and recruiter["name"] not in names(after)
    assert [m["status"] for m in after["former_members"]] == ["removed"]

    agnes = await matching.scalar("SELECT id FROM resources WHERE name = 'Agnes Acme'")
    chosen = await matching.client.post(
        f"{base}/{after['members'][1]['resource_id']}/swap",
        json={"replacement_id": str(agnes)},
        headers=matching.coordinator,
    )
    assert chosen.status_code == 409 and "not free" in chosen.json()["detail"]  # the originator's organisation
    representative = after["members"][0]["resource_id"]
    removed = await matching.client.delete(f"{base}/{representative}", headers=matching.coordinator)
    assert removed.status_code == 409 and "at least 3 people" in removed.json()["detail"]


async def test_reading_an_invitation_link_changes_nothing_and_only_its_post_answers(matching: Matching) -> None:
    group = await proposal(matching, group_size_min=3, group_size_max=3)
    await matching.client.post(f"/api/v1/groups/{group['id']}/confirm", headers=matching.coordinator)
    invitations = await matching.outbox("MemberInvited")
    accept = link_path(invitations[0]["accept_url"])
    decline = link_path(invitations[0]["decline_url"])
    for _ in range(2):  # a mail scanner opens it, then the person
        shown = await matching.client.get(accept)
        assert shown.status_code == 200 and shown.json()["initiative_title"].startswith("Sommarjobb")
        assert (shown.json()["answer"], shown.json()["status"], shown.json()["open"]) == ("accept", "invited", True)
    assert await matching.scalar("SELECT count(*) FROM seats WHERE status = 'accepted'") == 0
    # Why they were chosen, as the email says it, and the other link's token for a second button.
    why = shown.json()["why_chosen_sv"], shown.json()["why_chosen_en"]
    assert invitations[0]["member"]["explanation"] in why and why[0] != why[1]
    # Tokens are timed (signed in another second they differ): compare what the other answer's link opens.
    other = (await matching.client.get(f"/api/v1/invitations/{shown.json()['other_answer_token']}")).json()
    declined_page = (await matching.client.get(decline)).json()
    assert {k: v for k, v in other.items() if k != "other_answer_token"} == {
        k: v for k, v in declined_page.items() if k != "other_answer_token"
    }
    assert other["answer"] == "decline"
    back = (await matching.client.get(f"/api/v1/invitations/{declined_page['other_answer_token']}")).json()
    assert back["answer"] == "accept" and back["initiative_title"] == shown.json()["initiative_title"]

    pressed = await matching.client.post(accept)
    assert pressed.status_code == 200 and pressed.json()["status"] == "accepted" and not pressed.json()["open"]
    assert await matching.scalar("SELECT count(*) FROM seats WHERE status = 'accepted'") == 1
    assert (await matching.client.get(accept)).json()["status"] == "accepted"
    twice = await matching.client.post(accept)
    assert twice.status_code == 409 and twice.json()["current_status"] == "accepted"
    assert (await matching.client.post(decline)).status_code == 409
    assert len(await matching.outbox("MemberAccepted")) == 1
    assert (await matching.client.get(f"{accept}x")).status_code == 404
    assert (await matching.client.post(f"{accept}x")).status_code == 404
    assert (await matching.client.get(accept.removeprefix("/api/v1"))).status_code == 404  # the page is the web's


async def test_an_unanswered_invitation_expires_and_counts_as_declined(matching: Matching) -> None:
    group = await proposal(matching)
    await matching.client.post(f"/api/v1/groups/{group['id']}/confirm", headers=matching.coordinator)
    invitations = await matching.outbox("MemberInvited")
    for invitation in invitations[1:]:
        await matching.client.post(link_path(invitation["accept_url"]))
    matching.clock.advance(days=7, minutes=1)
    late = link_path(invitations[0]["accept_url"]).rsplit("/", 1)[1]
    refused = await matching.client.post(f"/api/v1/invitations/{late}")
    assert refused.status_code == 409 and refused.json()["current_status"] == "expired"

    counts = await matching.app.state.bus.handle(SweepGroups())
    assert counts["expired"] == 1
    (declined,) = await matching.outbox("MemberDeclined")
    assert declined["reason"] == "expired" and declined["member"]["name"] == invitations[0]["member"]["name"]
    (replaced,) = await matching.outbox("MemberReplaced")
    assert replaced["previous"]["name"] == invitations[0]["member"]["name"]
    assert len(await matching.outbox("MemberInvited")) == len(invitations) + 1
    assert (await matching.app.state.bus.handle(SweepGroups()))["expired"] == 0  # nothing twice


async def test_a_withdrawn_or_erased_member_is_replaced_and_erasure_leaves_no_personal_data(matching: Matching) -> None:
    group = await proposal(matching, group_size_min=3, group_size_max=3)
    await matching.client.post(f"/api/v1/groups/{group['id']}/confirm", headers=matching.coordinator)
    mentor = next(m for m in group["members"] if "mentoring" in m["explanation"]["competences_covered"])
    await matching.feed(ResourceErased(resource_id=uuid.UUID(mentor["resource_id"])))
    (declined,) = await matching.outbox("MemberDeclined")
    assert (
        declined["reason"] == "erased"
        and declined["member"]["name"] == "(erased)"
        and declined["member"]["email"] == ""
    )
    (replaced,) = await matching.outbox("MemberReplaced")
    assert replaced["replacement"]["explanation"].startswith("Bidrar med kompetenser som behövs: Mentorskap")
    assert await matching.scalar(f"SELECT count(*) FROM resources WHERE id = '{mentor['resource_id']}'") == 0  # noqa: S608
    after = (await matching.groups(uuid.UUID(group["initiative_id"])))[0]
    assert [m["status"] for m in after["former_members"]] == ["erased"] and after["former_members"][0]["name"] is None

    representative = after["members"][0]
    await matching.feed(ResourceWithdrawn(resource_id=uuid.UUID(representative["resource_id"])))
    second = (await matching.outbox("MemberDeclined"))[1]
    assert second["reason"] == "withdrawn" and second["member"]["name"] == representative["name"]
    final = (await matching.groups(uuid.UUID(group["initiative_id"])))[0]
    assert any(m["role"] == "municipality_representative" and m["status"] == "invited" for m in final["members"])


async def test_an_initiative_the_pool_cannot_serve_waits_and_the_sweep_proposes_it_later(matching: Matching) -> None:
    initiative = accepted()
    await matching.feed(initiative)
    assert await matching.groups(initiative.initiative_id) == []
    waiting = await matching.client.get(f"/api/v1/initiatives/{initiative.initiative_id}", headers=matching.coordinator)
    assert "no municipality representative" in waiting.json()["formation_problem"]
    now = await matching.client.post(
        f"/api/v1/initiatives/{initiative.initiative_id}/propose", headers=matching.coordinator
    )
    assert now.status_code == 409 and now.json()["current_status"] == "no_group_possible"

    await matching.seed(*team())  # there without an event matching acted on: the sweep is the fallback
    assert (await matching.app.state.bus.handle(SweepGroups()))["proposed"] == 1
    (group,) = await matching.groups(initiative.initiative_id)
    assert group["status"] == "proposed"
    again = await matching.client.post(
        f"/api/v1/initiatives/{initiative.initiative_id}/propose", headers=matching.coordinator
    )
    assert again.status_code == 201  # a fresh proposal replaces the current one
    groups = await matching.groups(initiative.initiative_id)
    assert {g["status"] for g in groups} == {"proposed", "dissolved"}
    assert (await matching.outbox("GroupDissolved"))[0]["reason"] == "superseded by a new proposal"


async def test_coordinators_read_what_is_lacking_and_are_told_once_until_people_register(matching: Matching) -> None:
    initiative = accepted()
    await matching.feed(initiative, registered("Bo Bolag", "Bolaget AB"))  # one more free: still the same reason
    (blocked,) = await matching.outbox("GroupFormationBlocked")
    assert blocked["missing"] == ["municipality_representative", "people", "competences"]
    assert (blocked["people_needed"], blocked["people_free"], blocked["missing_competences"]) == (
        3,
        0,
        ["recruitment", "mentoring"],
    )
    assert blocked["review_url"] == f"{WEB}/staff/initiatives/{initiative.initiative_id}"

    shown = await matching.client.get(f"/api/v1/initiatives/{initiative.initiative_id}", headers=matching.coordinator)
    assert shown.status_code == 200
    body = shown.json()
    assert body["missing"] == ["municipality_representative", "people", "competences"]
    assert (body["people_needed"], body["people_free"], body["missing_competences"]) == (
        3,
        1,
        ["recruitment", "mentoring"],
    )
    assert "from the 1 person free for this initiative" in body["formation_problem"]
    listed = await matching.client.get(
        "/api/v1/groups", params={"initiative_id": str(initiative.initiative_id)}, headers=matching.coordinator
    )
    page = listed.json()
    assert page["items"] == [] and page["total"] == 0
    assert page["formation_problem"]["missing"] == body["missing"]
    assert page["formation_problem"]["reason"] == body["formation_problem"]
    assert "av den 1 person som är ledig för initiativet" in page["formation_problem"]["reason_sv"]
    assert (await matching.app.state.bus.handle(SweepGroups()))["proposed"] == 0
    assert len(await matching.outbox("GroupFormationBlocked")) == 1  # the same reason: not told again

    await matching.feed(*team())  # the proposal comes from the registrations, not from the sweep
    (group,) = await matching.groups(initiative.initiative_id)
    assert group["status"] == "proposed"
    listed = await matching.client.get(
        "/api/v1/groups", params={"initiative_id": str(initiative.initiative_id)}, headers=matching.coordinator
    )
    assert listed.json()["formation_problem"] is None
    shown = await matching.client.get(f"/api/v1/initiatives/{initiative.initiative_id}", headers=matching.coordinator)
    assert shown.json()["formation_problem"] is None and shown.json()["missing"] == []


async def test_a_batch_shares_capacity_so_nobody_is_double_booked(matching: Matching) -> None:
    first, second = accepted(group_size_min=3, group_size_max=3), accepted(group_size_min=3, group_size_max=3)
    await matching.feed(first, second)  # accepted while nobody was in the pool: both wait
    m = OrganisationType.MUNICIPALITY
    await matching.seed(  # without the event path, which would propose for them one by one
        registered("Kim Kommun", "Malmö stad", kind=m, capacity=1),
        registered("Kajsa Kommun", "Lunds kommun", kind=m, capacity=1),
        *(registered(f"Person {i}", f"Firma {i}", competences=[Competence.RECRUITMENT], capacity=1) for i in range(4)),
    )
    unknown = uuid.uuid4()
    batch = await matching.client.post(
        "/api/v1/groups/batch",
        json={"initiative_ids": [str(first.initiative_id), str(second.initiative_id), str(unknown)]},
        headers=matching.coordinator,
    )
    assert batch.status_code == 200, batch.text
    items = batch.json()
    assert [i["initiative_id"] for i in items] == [str(first.initiative_id), str(second.initiative_id), str(unknown)]
    one, two = items[0]["group"], items[1]["group"]
    assert set(names(one)).isdisjoint(names(two)) and len(names(one)) == len(names(two)) == 3
    assert items[2]["problem"] == "not an accepted initiative"
    assert await matching.scalar("SELECT count(*) FROM resources WHERE load > capacity") == 0
    assert len(await matching.outbox("GroupProposed")) == 2

    third = accepted(group_size_min=3, group_size_max=3)
    await matching.feed(third)  # everyone is booked now
    again = await matching.client.post(
        "/api/v1/groups/batch",
        json={"initiative_ids": [str(third.initiative_id), str(first.initiative_id)]},
        headers=matching.coordinator,
    )
    third_item, first_item = again.json()
    assert "no municipality representative" in third_item["problem"]
    assert first_item["problem"] == "already has a proposed group"


async def test_the_documented_request_examples_are_accepted_as_they_stand(matching: Matching) -> None:
    document = matching.app.openapi()["components"]["schemas"]
    (example,) = document["BatchIn"]["examples"]
    answer = await matching.client.post("/api/v1/groups/batch", json=example, headers=matching.coordinator)
    assert answer.status_code == 200, answer.text
    assert [item["problem"] for item in answer.json()] == ["not an accepted initiative"] * 2  # ids of nothing here
    for swap in document["SwapIn"]["examples"]:
        SwapIn.model_validate(swap)


async def test_an_expired_invitation_link_gets_the_invitation_again_with_fresh_links_while_the_seat_is_open(
    matching: Matching,
) -> None:
    from shared.links import PrivateLink

    group = await proposal(matching, group_size_min=3, group_size_max=3)
    await matching.client.post(f"/api/v1/groups/{group['id']}/confirm", headers=matching.coordinator)
    invitations = await matching.outbox("MemberInvited")
    link = PrivateLink("http://web", SECRET, purpose="group-invitation", path="invitations")
    seat_id = link.read(link_path(invitations[0]["accept_url"]).rsplit("/", 1)[1], parts=2)[0]
    signed_at = time.time() - 400 * 86400  # older than the links' 365 days
    old = PrivateLink("http://web", SECRET, purpose="group-invitation", path="invitations", max_age=None,
                      clock=lambda: signed_at).token(seat_id, "accept")  # fmt: skip
    assert (await matching.client.get(f"/api/v1/invitations/{old}")).status_code == 410

    resent = await matching.client.post(f"/api/v1/invitations/{old}/new-link")
    assert resent.status_code == 202, resent.text
    again = await matching.outbox("MemberInvited")
    assert len(again) == len(invitations) + 1, "one invitation more, for that seat only"
    fresh = again[-1]
    assert fresh["member"]["resource_id"] == invitations[0]["member"]["resource_id"]
    accepted_now = await matching.client.post(link_path(fresh["accept_url"]))
    assert accepted_now.status_code == 200 and accepted_now.json()["status"] == "accepted"

    closed = await matching.client.post(f"/api/v1/invitations/{old}/new-link")
    assert closed.status_code == 409 and closed.json()["current_status"] == "accepted"
    assert len(await matching.outbox("MemberInvited")) == len(again), "nothing sent for an answered seat"
    assert (await matching.client.post(f"/api/v1/invitations/{old}x/new-link")).status_code == 404
