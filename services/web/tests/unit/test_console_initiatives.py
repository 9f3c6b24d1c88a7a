"""The console's inbox and initiative pages on fake service APIs: the filters reach intake as its query,
the signed-in person's token goes with every call, decisions, the lead and notes post intake's JSON and
come back to the page (PRG), a 409 is said in words, the CSV is passed on, operators see no forms."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from services.web.tests.conftest import FakeServices, csrf_of, idempotency_key_of, unprocessable

ID = "0b0e6f0a-7d2c-4a53-9a4e-2d3c1f8e9a10"
OTHER = "5f1d2c3b-0000-4000-8000-000000000001"
GROUP = "9a8b7c6d-0000-4000-8000-000000000002"
NOW = datetime.now(UTC)


def summary(**changes: Any) -> dict[str, Any]:
    return {
        "id": ID, "reference": "MM-2026-0042", "status": "submitted", "title": "Sommarjobb för unga",
        "summary": "Företag erbjuder sommarjobb.", "organisation_name": "Acme Bygg AB",
        "organisation_type": "business", "themes": ["employment"], "submitted_at": "2026-11-27T09:00:00+00:00",
        "updated_at": "2026-11-27T09:00:00+00:00", "lead": None, "channel": "portal", **changes,
    }  # fmt: skip


def detail(**changes: Any) -> dict[str, Any]:
    return {
        **summary(),
        "description": "Vi vill pröva en modell.\nMed staden.",
        "originator": {"organisation_name": "Acme Bygg AB", "organisation_type": "business",
                       "organisation_number": "556036-0793", "contact_name": "Anna Andersson",
                       "contact_email": "anna@acme.example", "contact_phone": "+46701234567"},
        "seeking": ["collaboration_partners"], "competences_needed": ["recruitment"],
        "group_size": {"min": 3, "max": 5}, "language": "sv",
        "history": [{"at": "2026-11-27T09:00:00+00:00", "actor": "originator", "action": "submit",
                     "from_status": None, "to_status": "submitted", "note": None}],
        "possible_duplicates": [{"id": OTHER, "reference": "MM-2026-0007", "title": "Sommarjobb i Rosengård",
                                 "status": "accepted"}],
        "registered_by": None, "notes": [],
        **changes,
    }  # fmt: skip


def page_of(items: list[dict[str, Any]], total: int | None = None) -> httpx.Response:
    return httpx.Response(200, json={"items": items, "total": len(items) if total is None else total,
                                     "limit": 25, "offset": 0})  # fmt: skip


async def sign_in(client: httpx.AsyncClient, role: str = "coordinator", email: str = "eva@malmo.se") -> None:
    form = await client.get("/staff/sign-in")
    answer = await client.post(
        "/staff/sign-in", data={"csrf_token": csrf_of(form), "name": "Eva", "email": email, "role": role}
    )
    assert answer.status_code == 303


async def stepping(
    client: httpx.AsyncClient, fake: FakeServices, action: str, answer: httpx.Response, **shown: Any
) -> httpx.Response:
    """Signed in as a coordinator on the initiative's page (its detail changed by `shown`); intake answers
    the step `action` with `answer`."""
    fake.on("GET", f"/api/v1/initiatives/{ID}", httpx.Response(200, json=detail(**shown)))
    fake.on("POST", f"/api/v1/initiatives/{ID}/{action}", answer)
    await sign_in(client)
    return await client.get(f"/staff/initiatives/{ID}")


def bearer_of(request: httpx.Request) -> str:
    return request.headers["Authorization"].removeprefix("Bearer ")


@pytest.fixture
def intake_list(fake: FakeServices) -> list[httpx.Request]:
    """Intake's list answered by what was asked: the page, the counts, the attention cards."""
    asked: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(request)
        params = request.url.params
        if params.get("limit") == "1":  # a count per status
            return page_of([], total={"submitted": 4, "accepted": 2}.get(params.get("status", ""), 0))
        if params.get("status") == "info_requested":
            long_ago = (NOW - timedelta(days=9)).isoformat()
            return page_of([summary(id=OTHER, reference="MM-2026-0003", status="info_requested", updated_at=long_ago),
                            summary(status="info_requested", updated_at=NOW.isoformat())])  # fmt: skip
        if params.get("status") == "accepted":
            return page_of([summary(id=OTHER, reference="MM-2026-0009", status="accepted")])
        if params.get("lead") == "none":
            return page_of([summary(reference="MM-2026-0011")], total=3)
        return page_of([summary(lead="eva@malmo.se"), summary(id=OTHER, channel="meeting")], total=60)

    fake.on("GET", "/api/v1/initiatives", answer)
    return asked


async def test_the_inbox_sends_its_filters_to_intake_with_the_staff_token_and_shows_counts_and_pages(
    browser_client: httpx.AsyncClient, fake: FakeServices, intake_list: list[httpx.Request]
) -> None:
    fake.on("GET", f"/api/v1/initiatives/{OTHER}", httpx.Response(200, json={
        "id": OTHER, "group_id": None, "missing": ["municipality_representative", "people"],
        "missing_competences": [], "people_needed": 3, "people_free": 1}))  # fmt: skip
    await sign_in(browser_client)
    query = ("status=submitted&status=accepted&theme=employment&organisation_type=business&lead=me"
             "&submitted_from=2026-11-01&submitted_to=2026-11-30&q=sommar&sort=title&offset=25")  # fmt: skip

    page = await browser_client.get(f"/staff?{query}")

    assert page.status_code == 200, page.text
    listed = next(r for r in intake_list if r.url.params.get("limit") == "25")
    params = listed.url.params
    assert params.get_list("status") == ["submitted", "accepted"]
    assert (params["theme"], params["organisation_type"], params["q"], params["sort"]) == (
        "employment", "business", "sommar", "title")  # fmt: skip
    assert params["lead"] == "eva@malmo.se" and params["offset"] == "25"  # "me" is the signed-in person
    assert params["submitted_from"] == "2026-11-01T00:00:00+01:00"
    assert params["submitted_to"].startswith("2026-11-30T23:59:59")
    assert all(bearer_of(r) for r in fake.calls)
    assert {bearer_of(r) for r in fake.calls} == {bearer_of(listed)}
    html = page.text
    assert "Inskickat, väntar på granskning: <strong>4</strong>" in html  # counts, in Swedish
    assert "Visar 26–50 av 60" in html and 'rel="prev"' in html and 'rel="next"' in html
    assert "/staff/initiatives/export.csv?status=submitted&amp;status=accepted&amp;theme=employment" in html
    assert "Vid ett personligt möte" in html  # the channel of the second one
    # the cards: nobody's, waiting long for an answer (MM-2026-0003, not the fresh one), waiting for people
    assert "MM-2026-0011" in html and "MM-2026-0003" in html
    assert "en kommunrepresentant som är ledig" in html and "1 lediga, 3 behövs" in html


async def test_a_date_that_is_no_date_is_refused_beside_its_field_without_asking_intake(
    browser_client: httpx.AsyncClient, fake: FakeServices, intake_list: list[httpx.Request]
) -> None:
    await sign_in(browser_client)
    page = await browser_client.get("/staff?submitted_from=yesterday")
    assert page.status_code == 422
    assert 'id="submitted_from-error"' in page.text and 'aria-describedby="submitted_from-error"' in page.text
    assert intake_list == []


async def test_the_csv_of_the_selection_is_intakes_passed_on_with_its_file_name(
    browser_client: httpx.AsyncClient, fake: FakeServices
) -> None:
    csv = "reference,status\r\nMM-2026-0042,submitted\r\n"
    fake.on("GET", "/api/v1/initiatives/export.csv", httpx.Response(
        200, text=csv, headers={"Content-Type": "text/csv; charset=utf-8",
                                "Content-Disposition": 'attachment; filename="initiatives.csv"'}))  # fmt: skip
    await sign_in(browser_client)

    answer = await browser_client.get("/staff/initiatives/export.csv?status=submitted&lead=none&sort=title")

    assert answer.status_code == 200 and answer.text == csv
    assert answer.headers["content-disposition"] == 'attachment; filename="initiatives.csv"'
    assert answer.headers["content-type"].startswith("text/csv")
    (sent,) = fake.calls
    assert dict(sent.url.params) == {"status": "submitted", "lead": "none"} and bearer_of(sent)


async def test_the_initiative_page_shows_every_field_the_history_duplicates_and_the_working_group(
    browser_client: httpx.AsyncClient, fake: FakeServices
) -> None:
    history = [*detail()["history"],
               {"at": "2026-11-28T09:00:00+00:00", "actor": "eva@malmo.se", "action": "accept",
                "from_status": "submitted", "to_status": "accepted", "note": None},
               {"at": "2026-11-28T10:00:00+00:00", "actor": "eva@malmo.se", "action": "assign_lead",
                "from_status": "accepted", "to_status": "accepted", "note": "eva@malmo.se"}]  # fmt: skip
    notes = [{"at": "2026-11-28T11:00:00+00:00", "author": "olle@malmo.se", "text": "Ringde Anna."}]
    shown = detail(status="group_forming", lead="eva@malmo.se", history=history, notes=notes)
    fake.on("GET", f"/api/v1/initiatives/{ID}", httpx.Response(200, json=shown))
    fake.on("GET", "/api/v1/groups", httpx.Response(200, json={
        "items": [{"id": GROUP, "status": "proposed", "members": [{}, {}, {}]}], "total": 1, "limit": 1,
        "offset": 0, "formation_problem": None}))  # fmt: skip
    await sign_in(browser_client)

    page = await browser_client.get(f"/staff/initiatives/{ID}")

    assert page.status_code == 200, page.text
    html = page.text
    for shown_text in ("Sommarjobb för unga", "MM-2026-0042", "Anna Andersson", "anna@acme.example",
                       "556036-0793", "+46701234567", "Rekrytering", "3 till 5 personer", "Ringde Anna.",
                       "olle@malmo.se", "Leder: eva@malmo.se",
                       "Från ”Inskickat, väntar på granskning” till"):  # fmt: skip
        assert shown_text in html, shown_text
    assert f'href="/staff/initiatives/{OTHER}"' in html and "MM-2026-0007" in html
    assert f'href="/staff/groups/{GROUP}"' in html
    (groups,) = [c for c in fake.calls if c.url.path == "/api/v1/groups"]
    assert groups.url.params["initiative_id"] == ID and bearer_of(groups)
    assert "Tilldela mig" not in html  # she leads it already
    assert 'action="/staff/initiatives/' + ID + '/accept"' not in html  # nothing to decide while a group forms


async def test_accepting_posts_to_intake_and_comes_back_to_the_page_with_a_notice(
    browser_client: httpx.AsyncClient, fake: FakeServices
) -> None:
    page = await stepping(browser_client, fake, "accept", httpx.Response(200, json=summary(status="accepted")))

    answer = await browser_client.post(f"/staff/initiatives/{ID}/accept", data={"csrf_token": csrf_of(page)})

    assert answer.status_code == 303 and answer.headers["location"] == f"/staff/initiatives/{ID}?done=accepted"
    (posted,) = [c for c in fake.calls if c.method == "POST"]
    assert bearer_of(posted)
    after = await browser_client.get(answer.headers["location"])
    assert "Antaget. Initiativtagaren får besked via e-post" in after.text


async def test_a_409_says_in_words_what_the_initiative_is_now(
    browser_client: httpx.AsyncClient, fake: FakeServices
) -> None:
    conflict = {"detail": "cannot reject an initiative that is rejected", "current_status": "rejected",
                "action": "reject"}  # fmt: skip
    page = await stepping(browser_client, fake, "reject", httpx.Response(409, json=conflict), status="rejected")

    answer = await browser_client.post(
        f"/staff/initiatives/{ID}/reject", data={"csrf_token": csrf_of(page), "reason": "Ingen samverkan"}
    )

    assert answer.status_code == 409
    assert "Det gick inte: initiativet är nu ”Avslaget”." in answer.text
    sent = next(c for c in fake.calls if c.method == "POST")
    assert json.loads(sent.content) == {"reason": "Ingen samverkan"}


async def test_a_rejection_without_a_reason_is_shown_beside_the_field(
    browser_client: httpx.AsyncClient, fake: FakeServices
) -> None:
    errors = [{"field": "reason", "reason": "String should have at least 1 character", "type": "string_too_short"}]
    page = await stepping(browser_client, fake, "reject", unprocessable(errors, "x"))

    answer = await browser_client.post(f"/staff/initiatives/{ID}/reject", data={"csrf_token": csrf_of(page)})

    assert answer.status_code == 422
    assert 'id="reason-error">Fyll i fältet.</p>' in answer.text


async def test_request_info_posts_the_message(browser_client: httpx.AsyncClient, fake: FakeServices) -> None:
    page = await stepping(browser_client, fake, "request-info", httpx.Response(200, json=summary()))
    answer = await browser_client.post(
        f"/staff/initiatives/{ID}/request-info", data={"csrf_token": csrf_of(page), "message": "Vilka skolor?"}
    )
    assert answer.headers["location"].endswith("?done=info_requested")
    assert json.loads(fake.calls[-1].content) == {"message": "Vilka skolor?"}


@pytest.mark.parametrize(
    ("typed", "sent"),
    [("me", {"lead": "eva@malmo.se"}), ("olle@malmo.se", {"lead": "olle@malmo.se"}), ("", {"lead": None})],
)
async def test_the_lead_form_posts_myself_a_colleague_or_nobody(
    browser_client: httpx.AsyncClient, fake: FakeServices, typed: str, sent: dict[str, Any]
) -> None:
    page = await stepping(browser_client, fake, "lead", httpx.Response(200, json=summary()), lead="olle@malmo.se")
    assert "Tilldela mig" in page.text and "Ta bort tilldelningen" in page.text

    answer = await browser_client.post(
        f"/staff/initiatives/{ID}/lead", data={"csrf_token": csrf_of(page), "lead": typed}
    )

    assert answer.status_code == 303 and answer.headers["location"].endswith("?done=lead")
    posted = fake.calls[-1]
    assert posted.url.path == f"/api/v1/initiatives/{ID}/lead" and json.loads(posted.content) == sent


async def test_a_note_is_posted_as_intakes_json(browser_client: httpx.AsyncClient, fake: FakeServices) -> None:
    page = await stepping(browser_client, fake, "notes", httpx.Response(201, json=detail()))

    answer = await browser_client.post(
        f"/staff/initiatives/{ID}/notes", data={"csrf_token": csrf_of(page), "text": " Ringde Anna.\nHon återkommer. "}
    )

    assert answer.status_code == 303 and answer.headers["location"].endswith("?done=note")
    assert json.loads(fake.calls[-1].content) == {"text": "Ringde Anna.\nHon återkommer."}
    assert bearer_of(fake.calls[-1])


async def test_operators_see_the_initiative_without_any_form_and_a_refusal_is_a_clear_page(
    browser_client: httpx.AsyncClient, fake: FakeServices
) -> None:
    notes = [{"at": "2026-11-28T11:00:00+00:00", "author": "eva@malmo.se", "text": "Ringde Anna."}]
    fake.on("GET", f"/api/v1/initiatives/{ID}", httpx.Response(200, json=detail(status="accepted", notes=notes)))
    await sign_in(browser_client, role="operator", email="ops@malmo.se")

    page = await browser_client.get(f"/staff/initiatives/{ID}")

    assert page.status_code == 200 and "Ringde Anna." in page.text
    assert 'method="post" action="/staff/initiatives/' not in page.text
    assert [c.url.path for c in fake.calls] == [f"/api/v1/initiatives/{ID}"]  # matching is coordinators' only
    refused = await browser_client.post(f"/staff/initiatives/{ID}/accept", data={"csrf_token": csrf_of(page)})
    assert refused.status_code == 403 and "<h1>" in refused.text
    assert not [c for c in fake.calls if c.method == "POST"]
    assert (await browser_client.get("/staff/initiatives/new")).status_code == 403


async def test_an_intake_403_is_shown_as_a_clear_page(browser_client: httpx.AsyncClient, fake: FakeServices) -> None:
    page = await stepping(browser_client, fake, "accept", httpx.Response(403, json={"detail": "requires role"}))
    answer = await browser_client.post(f"/staff/initiatives/{ID}/accept", data={"csrf_token": csrf_of(page)})
    assert answer.status_code == 403
    assert "Bara samordnare kan ändra initiativ" in answer.text


async def test_an_initiative_from_a_personal_meeting_is_registered_on_the_originators_behalf(
    browser_client: httpx.AsyncClient, fake: FakeServices
) -> None:
    new_id = str(uuid.uuid4())
    fake.on("POST", "/api/v1/initiatives/on-behalf", httpx.Response(201, json={
        "id": new_id, "reference": "MM-2026-0050", "status": "submitted",
        "submitted_at": "2026-11-27T09:00:00+00:00"}))  # fmt: skip
    await sign_in(browser_client)
    form = await browser_client.get("/staff/initiatives/new")
    assert form.status_code == 200 and 'name="consent"' in form.text
    key = idempotency_key_of(form)

    answer = await browser_client.post(
        "/staff/initiatives/new",
        data={"csrf_token": csrf_of(form), "idempotency_key": key, "title": "Praktik i Fosie",
              "summary": "Praktikplatser.", "originator.organisation_name": "Fosie Bygg",
              "originator.organisation_type": "business", "originator.contact_name": "Ali",
              "originator.contact_email": "ali@fosie.example", "themes": "employment",
              "seeking": "collaboration_partners", "group_size.min": "3", "group_size.max": "5",
              "language": "sv", "consent": "true"},
    )  # fmt: skip

    assert answer.status_code == 303 and answer.headers["location"] == f"/staff/initiatives/{new_id}?done=registered"
    (sent,) = fake.calls
    assert sent.headers["Idempotency-Key"] == key and bearer_of(sent)
    body = json.loads(sent.content)
    assert body["consent"] is True and body["group_size"] == {"min": 3, "max": 5}
    assert body["originator"]["contact_email"] == "ali@fosie.example" and body["themes"] == ["employment"]


async def test_a_registration_without_the_consent_confirmed_is_refused_beside_it(
    browser_client: httpx.AsyncClient, fake: FakeServices
) -> None:
    errors = [{"field": "consent", "reason": "Input should be True", "type": "literal_error"}]
    fake.on("POST", "/api/v1/initiatives/on-behalf", unprocessable(errors, "x"))
    await sign_in(browser_client)
    form = await browser_client.get("/staff/initiatives/new")
    answer = await browser_client.post(
        "/staff/initiatives/new", data={"csrf_token": csrf_of(form), "title": "Praktik i Fosie"}
    )
    assert answer.status_code == 422
    assert 'id="consent-error"' in answer.text and 'value="Praktik i Fosie"' in answer.text
    assert json.loads(fake.calls[-1].content)["consent"] is False


async def test_operators_see_the_inbox_without_the_registration_link_and_matching_is_not_asked(
    browser_client: httpx.AsyncClient, fake: FakeServices, intake_list: list[httpx.Request]
) -> None:
    await sign_in(browser_client, role="operator", email="ops@malmo.se")

    page = await browser_client.get("/staff")

    assert page.status_code == 200
    assert "/staff/initiatives/new" not in page.text
    assert "Matchningen visar bara för samordnare" in page.text
    assert {c.url.path for c in fake.calls} == {"/api/v1/initiatives"}


async def test_erasing_the_originator_needs_the_confirmation_then_posts_to_intake_and_the_page_shows_it_erased(
    browser_client: httpx.AsyncClient, fake: FakeServices
) -> None:
    page = await stepping(browser_client, fake, "erase-originator", httpx.Response(200, json=detail()))
    assert "Radera initiativtagarens kontaktuppgifter" in page.text and "anna@acme.example" in page.text

    unconfirmed = await browser_client.post(
        f"/staff/initiatives/{ID}/erase-originator", data={"csrf_token": csrf_of(page)}
    )
    assert (
        unconfirmed.status_code == 422
        and 'id="confirm-error">Kryssa i rutan för att gå vidare.</p>' in unconfirmed.text
    )
    assert not [c for c in fake.calls if c.method == "POST"]  # nothing erased without the box ticked

    confirmed = await browser_client.post(
        f"/staff/initiatives/{ID}/erase-originator", data={"csrf_token": csrf_of(page), "confirm": "true"}
    )
    assert confirmed.status_code == 303 and confirmed.headers["location"].endswith("?done=originator_erased")
    posted = fake.calls[-1]
    assert posted.url.path == f"/api/v1/initiatives/{ID}/erase-originator" and bearer_of(posted)

    erased = {
        **detail()["originator"],
        **{"contact_name": "(erased)", "contact_email": "", "contact_phone": None, "contact_erased": True},
    }
    step = {"at": "2026-11-28T09:00:00+00:00", "actor": "eva@malmo.se", "action": "erase_originator",
            "from_status": "submitted", "to_status": "submitted", "note": None}  # fmt: skip
    shown = detail(originator=erased, history=[*detail()["history"], step])
    fake.on("GET", f"/api/v1/initiatives/{ID}", httpx.Response(200, json=shown))
    after = await browser_client.get(confirmed.headers["location"])
    assert "Kontaktpersonens namn, e-post och telefon är raderade" in after.text
    assert "Raderad: kontaktpersonens namn, e-post och telefon sparas inte längre." in after.text
    assert "Kontaktpersonens uppgifter raderades" in after.text  # the history's step
    assert "erase-originator" not in after.text and "(erased)" not in after.text  # no button twice, no placeholder


async def test_operators_see_no_erase_button_and_the_console_refuses_them(
    browser_client: httpx.AsyncClient, fake: FakeServices
) -> None:
    fake.on("GET", f"/api/v1/initiatives/{ID}", httpx.Response(200, json=detail()))
    await sign_in(browser_client, role="operator", email="ops@malmo.se")
    page = await browser_client.get(f"/staff/initiatives/{ID}")
    assert "erase-originator" not in page.text and "Radera initiativtagarens" not in page.text
    refused = await browser_client.post(
        f"/staff/initiatives/{ID}/erase-originator", data={"csrf_token": csrf_of(page), "confirm": "true"}
    )
    assert refused.status_code == 403
    assert not [c for c in fake.calls if c.method == "POST"]
