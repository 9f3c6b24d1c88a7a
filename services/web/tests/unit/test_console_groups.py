"""The working-group page on a fake matching: the proposal with each member's reasons and the needs left
uncovered, swap (from matching's suggestions), remove and confirm as the API's calls with the coordinator's
token, refusals in words, and after confirming each invitation's state in a fragment htmx polls."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx

from services.web.tests.conftest import FakeServices, csrf_of

GROUP = "3f2c8a5e-6b1d-4c3a-9e7f-2a1b0c9d8e7f"
INITIATIVE = "7d9e3b1a-2c4f-4e8d-a6b5-0f1e2d3c4b5a"
MARIA, KARL, ROLF = (str(uuid.UUID(int=n)) for n in (1, 2, 3))


async def signed_in(client: httpx.AsyncClient, role: str = "coordinator") -> str:
    """Signs in on the local sign-in page; the session's CSRF token for the forms that follow."""
    form = await client.get("/staff/sign-in")
    email = f"eva.{role}@malmo.se"
    data = {"csrf_token": csrf_of(form), "name": "Eva", "email": email, "role": role, "next": "/staff"}
    assert (await client.post("/staff/sign-in", data=data)).status_code == 303
    return csrf_of(await client.get("/"))  # the session is made anew at sign-in, with a token of its own


def explanation(competences: list[str], representative: bool = False, load: int = 0) -> dict[str, Any]:
    return {"text": "Covers needed competences ...", "competences_covered": competences,
            "themes_shared": ["employment"], "load": load, "capacity": 3,
            "municipality_representative": representative}  # fmt: skip


def seat(resource_id: str, name: str, organisation: str, status: str = "proposed", **more: Any) -> dict[str, Any]:
    return {
        "seat_id": str(uuid.uuid5(uuid.NAMESPACE_OID, resource_id + status)),
        "resource_id": resource_id,
        "name": name,
        "organisation_name": organisation,
        "organisation_type": "municipality" if organisation == "Malmö stad" else "business",
        "role": "municipality_representative" if organisation == "Malmö stad" else "resource",
        "status": status,
        "explanation": explanation(["labour_market"], representative=organisation == "Malmö stad")
        if organisation == "Malmö stad"
        else explanation(["recruitment"], load=1),
        "replaces": None,
        "invited_at": None,
        "expires_at": None,
        "answered_at": None,
        **more,
    }


def group(status: str = "proposed", members: list[dict[str, Any]] | None = None, **more: Any) -> dict[str, Any]:
    return {
        "id": GROUP,
        "initiative_id": INITIATIVE,
        "initiative": {"id": INITIATIVE, "reference": "MM-2026-0042", "title": "Sommarjobb för unga",
                       "status": "accepted"},
        "status": status,
        "solver": "cp-sat",
        "members": members if members is not None else [seat(MARIA, "Maria Lind", "Malmö stad"),
                                                         seat(KARL, "Karl Berg", "Skanska AB")],
        "former_members": [],
        "uncovered_competences": ["mentoring"],
        "vacancies": 0,
        "size_min": 2,
        "created_at": "2026-03-02T09:00:00Z",
        "confirmed_by": None,
        "confirmed_at": None,
        "formed_at": None,
        "ended_at": None,
        "ended_reason": None,
        **more,
    }  # fmt: skip


def confirmed(maria: str = "invited", karl: str = "invited", **more: Any) -> dict[str, Any]:
    out = {"invited_at": "2026-03-02T10:00:00Z", "expires_at": "2026-03-16T10:00:00Z"}
    members = [
        seat(MARIA, "Maria Lind", "Malmö stad", maria, **out),
        seat(KARL, "Karl Berg", "Skanska AB", karl, **out,
             answered_at="2026-03-03T08:30:00Z" if karl != "invited" else None),
    ]  # fmt: skip
    return group("confirmed", members, confirmed_at="2026-03-02T10:00:00Z", confirmed_by="eva@malmo.se", **more)


async def test_the_proposal_shows_each_member_with_the_reasons_in_swedish_and_the_needs_left_uncovered(
    browser_client: httpx.AsyncClient, fake: FakeServices
) -> None:
    fake.on("GET", f"/api/v1/groups/{GROUP}", httpx.Response(200, json=group()))
    await signed_in(browser_client)
    page = await browser_client.get(f"/staff/groups/{GROUP}")
    assert page.status_code == 200
    html = page.text
    assert f'href="/staff/initiatives/{INITIATIVE}"' in html and "MM-2026-0042" in html
    assert "Maria Lind" in html and "Kommunens representant" in html and "Skanska AB" in html
    assert "Bidrar med: Arbetsmarknadsfrågor." in html and "Delar teman: Sysselsättning." in html
    assert "I 1 annan grupp när hen valdes, högst 3 samtidigt." in html
    assert "Mentorskap" in html  # the need nobody covers, by its label
    assert f'action="/staff/groups/{GROUP}/confirm"' in html and f"/members/{KARL}/swap" in html
    (call,) = fake.calls
    assert call.headers["Authorization"].startswith("Bearer ")


async def test_confirming_sends_the_coordinators_token_and_comes_back_to_the_group(
    browser_client: httpx.AsyncClient, fake: FakeServices
) -> None:
    fake.on("GET", f"/api/v1/groups/{GROUP}", httpx.Response(200, json=confirmed()))
    fake.on("POST", f"/api/v1/groups/{GROUP}/confirm", httpx.Response(200, json=confirmed()))
    csrf = await signed_in(browser_client)
    answer = await browser_client.post(f"/staff/groups/{GROUP}/confirm", data={"csrf_token": csrf})
    assert answer.status_code == 303 and answer.headers["location"] == f"/staff/groups/{GROUP}?done=confirmed"
    (call,) = [c for c in fake.calls if c.method == "POST"]
    token = call.headers["Authorization"].removeprefix("Bearer ")
    page = await browser_client.get(answer.headers["location"])
    assert "Bekräftad. Alla medlemmar har fått en inbjudan." in page.text
    assert fake.calls[-1].headers["Authorization"] == f"Bearer {token}"


async def test_confirming_twice_is_told_in_words(browser_client: httpx.AsyncClient, fake: FakeServices) -> None:
    fake.on("GET", f"/api/v1/groups/{GROUP}", httpx.Response(200, json=confirmed()))
    conflict = {"detail": "cannot confirm a group that is confirmed", "current_status": "confirmed",
                "action": "confirm"}  # fmt: skip
    fake.on("POST", f"/api/v1/groups/{GROUP}/confirm", httpx.Response(409, json=conflict))
    csrf = await signed_in(browser_client)
    answer = await browser_client.post(f"/staff/groups/{GROUP}/confirm", data={"csrf_token": csrf})
    assert answer.status_code == 409
    assert "Det går inte längre: gruppens status är nu ”Bekräftad: inbjudningarna har skickats”." in answer.text
    assert "cannot confirm" not in answer.text


async def test_removing_a_member_calls_delete_and_a_refusal_by_the_rules_is_said_in_swedish(
    browser_client: httpx.AsyncClient, fake: FakeServices
) -> None:
    fake.on("GET", f"/api/v1/groups/{GROUP}", httpx.Response(200, json=group()))
    refusal = {"detail": "cannot remove this member: the group needs at least 2 people; swap instead",
               "current_status": "proposed", "action": "remove this member"}  # fmt: skip
    fake.on("DELETE", f"/api/v1/groups/{GROUP}/members/{KARL}", httpx.Response(409, json=refusal))
    csrf = await signed_in(browser_client)
    answer = await browser_client.post(f"/staff/groups/{GROUP}/members/{KARL}/remove", data={"csrf_token": csrf})
    assert answer.status_code == 409
    assert "Gruppen skulle bli mindre än sin minsta storlek. Byt ut medlemmen i stället." in answer.text
    assert [c.method for c in fake.calls if "/members/" in c.url.path] == ["DELETE"]


async def test_the_swap_page_offers_matchings_suggestions_best_first_and_posts_the_choice(
    browser_client: httpx.AsyncClient, fake: FakeServices
) -> None:
    fake.on("GET", f"/api/v1/groups/{GROUP}", httpx.Response(200, json=group()))
    rolf = {"resource_id": ROLF, "name": "Rolf Rekryt", "organisation_name": "Bemanning Syd AB",
            "organisation_type": "business", "explanation": explanation(["recruitment", "mentoring"])}  # fmt: skip
    other = {**rolf, "resource_id": str(uuid.uuid4()), "name": "Sara Ek"}
    fake.on("GET", f"/api/v1/groups/{GROUP}/members/{KARL}/replacements", httpx.Response(200, json=[rolf, other]))
    fake.on("POST", f"/api/v1/groups/{GROUP}/members/{KARL}/swap", httpx.Response(200, json=group()))
    csrf = await signed_in(browser_client)
    page = await browser_client.get(f"/staff/groups/{GROUP}/members/{KARL}/swap")
    assert page.status_code == 200 and "Byt ut Karl Berg" in page.text
    assert f'value="{ROLF}" checked' in page.text and "Sara Ek" in page.text
    assert "Bidrar med: Rekrytering, Mentorskap." in page.text
    answer = await browser_client.post(
        f"/staff/groups/{GROUP}/members/{KARL}/swap", data={"csrf_token": csrf, "replacement_id": ROLF}
    )
    assert answer.status_code == 303 and answer.headers["location"].endswith("?done=swapped")
    (swap,) = [c for c in fake.calls if c.method == "POST"]
    assert json.loads(swap.content) == {"replacement_id": ROLF}


async def test_a_swap_the_rules_refuse_is_told_in_words(browser_client: httpx.AsyncClient, fake: FakeServices) -> None:
    fake.on("GET", f"/api/v1/groups/{GROUP}", httpx.Response(200, json=group()))
    refusal = {"detail": "cannot swap in this person: this person is not free for this initiative (capacity, ...)",
               "current_status": "proposed", "action": "swap in this person"}  # fmt: skip
    fake.on("POST", f"/api/v1/groups/{GROUP}/members/{KARL}/swap", httpx.Response(409, json=refusal))
    csrf = await signed_in(browser_client)
    answer = await browser_client.post(
        f"/staff/groups/{GROUP}/members/{KARL}/swap", data={"csrf_token": csrf, "replacement_id": ROLF}
    )
    assert answer.status_code == 409 and "Personen är inte ledig för det här initiativet" in answer.text


async def test_after_confirming_each_invitation_is_shown_in_a_region_htmx_refreshes(
    browser_client: httpx.AsyncClient, fake: FakeServices
) -> None:
    fake.on("GET", f"/api/v1/groups/{GROUP}", httpx.Response(200, json=confirmed(karl="accepted")))
    await signed_in(browser_client)
    page = await browser_client.get(f"/staff/groups/{GROUP}")
    html = page.text
    assert 'aria-live="polite"' in html and 'hx-trigger="every 5s"' in html
    assert f'hx-get="/staff/groups/{GROUP}/invitations?seen=' in html
    assert "Väntar på svar" in html and "Tackade ja" in html and "1 av 2 medlemmar har tackat ja." in html
    assert f'action="/staff/groups/{GROUP}/confirm"' not in html and "/swap" not in html  # no changes once confirmed

    fragment = await browser_client.get(f"/staff/groups/{GROUP}/invitations", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text and "Tackade ja" in fragment.text
    seen = fragment.text.split("?seen=", 1)[1].split('"', 1)[0]
    unchanged = await browser_client.get(f"/staff/groups/{GROUP}/invitations?seen={seen}")
    assert unchanged.status_code == 204  # htmx swaps nothing, the screen reader hears nothing


async def test_a_declined_seat_shows_who_replaced_it_and_polling_stops_once_the_group_is_formed(
    browser_client: httpx.AsyncClient, fake: FakeServices
) -> None:
    formed = confirmed(maria="accepted", karl="declined")
    karl = formed["members"].pop()
    formed["former_members"] = [karl]
    formed["members"].append(seat(ROLF, "Rolf Rekryt", "Bemanning Syd AB", "accepted", replaces=karl["seat_id"],
                                  invited_at="2026-03-03T09:00:00Z", answered_at="2026-03-04T09:00:00Z"))  # fmt: skip
    formed |= {"status": "formed", "formed_at": "2026-03-04T09:00:00Z"}
    fake.on("GET", f"/api/v1/groups/{GROUP}", httpx.Response(200, json=formed))
    await signed_in(browser_client)
    fragment = await browser_client.get(f"/staff/groups/{GROUP}/invitations?seen=old")
    assert fragment.status_code == 286 and "hx-trigger" not in fragment.text  # htmx swaps it and stops asking
    assert "Tackade nej; ersatt av Rolf Rekryt" in fragment.text
    assert "Bildad: alla medlemmar tackade ja" in fragment.text


async def test_an_operator_sees_the_group_without_any_button_that_acts(
    browser_client: httpx.AsyncClient, fake: FakeServices
) -> None:
    fake.on("GET", f"/api/v1/groups/{GROUP}", httpx.Response(200, json=group()))
    csrf = await signed_in(browser_client, "operator")
    page = await browser_client.get(f"/staff/groups/{GROUP}")
    assert page.status_code == 200 and "Maria Lind" in page.text
    assert "/confirm" not in page.text and "/swap" not in page.text and "/remove" not in page.text
    refused = await browser_client.post(f"/staff/groups/{GROUP}/confirm", data={"csrf_token": csrf})
    assert refused.status_code == 403 and not [c for c in fake.calls if c.method != "GET"]


async def test_matching_refusing_an_operator_is_a_page_that_says_so(
    browser_client: httpx.AsyncClient, fake: FakeServices
) -> None:
    fake.on("GET", f"/api/v1/groups/{GROUP}", httpx.Response(403, json={"detail": "forbidden"}))
    await signed_in(browser_client, "operator")
    page = await browser_client.get(f"/staff/groups/{GROUP}")
    assert page.status_code == 403 and "Arbetsgrupper visas bara för processledare." in page.text


async def test_the_group_page_needs_a_signed_in_person(browser_client: httpx.AsyncClient, fake: FakeServices) -> None:
    page = await browser_client.get(f"/staff/groups/{GROUP}")
    assert page.status_code == 303 and page.headers["location"].startswith("/staff/sign-in?next=/staff/groups/")
    assert fake.calls == []
