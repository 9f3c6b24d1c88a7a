"""The pages behind the emails' links, on fake service APIs: opening a link only shows (the service is
only read), a button's POST acts through the service's JSON endpoint with the link's token, a link the
service does not know is the not-found page, and none of these pages is cached or indexed."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from services.web.tests.conftest import FakeServices, csrf_of, unprocessable, web_client

EN = {"Accept-Language": "en"}
TOKEN = "InRva2VuIg.aBc-123"
INITIATIVE: dict[str, Any] = {
    "reference": "MM-2026-0042",
    "status": "info_requested",
    "title": "Sommarjobb för unga i Rosengård",
    "summary": "Företag erbjuder sommarjobb.",
    "description": "",
    "submitted_at": "2026-11-02T09:00:00Z",
    "question": "Vilka skolor är med?",
    "can_answer": True,
    "can_withdraw": True,
    "history": [],
}
PERSON: dict[str, Any] = {
    "id": "4d7c2b9e-1f3a-4c5d-8e6f-7a8b9c0d1e2f",
    "status": "active",
    "name": "Karl Svensson",
    "email": "karl@skanska.example",
    "phone": None,
    "organisation_name": "Skanska",
    "organisation_type": "business",
    "organisation_number": None,
    "role_title": "HR partner",
    "sector": "F",
    "competences": ["recruitment"],
    "tags": ["lärlingar", "bygg"],
    "themes": ["employment"],
    "capacity": 2,
    "hours_per_month": None,
    "languages": ["sv", "en"],
    "language": "sv",
    "registered_by": "self",
    "confirmed_at": "2026-11-02T09:00:00Z",
    "withdrawal_reason": None,
    "created_at": "2026-11-01T09:00:00Z",
    "updated_at": "2026-11-02T09:00:00Z",
}
CONFIRMATION = {
    "state": "awaiting_confirmation",
    "just_confirmed": False,
    "profile_token": None,
    "name": "Karl Svensson",
    "email": "karl@skanska.example",
    "organisation_name": "Skanska",
    "role_title": "HR partner",
    "language": "sv",
}
INVITATION: dict[str, Any] = {
    "answer": "accept",
    "status": "invited",
    "group_status": "confirmed",
    "initiative_reference": "MM-2026-0042",
    "initiative_title": "Sommarjobb för unga i Rosengård",
    "initiative_summary": "Företag erbjuder sommarjobb.",
    "expires_at": "2026-11-09T09:00:00Z",
    "open": True,
    "why_chosen_sv": "Bidrar med kompetenser som behövs: Rekrytering.",
    "why_chosen_en": "Covers needed competences: Recruitment.",
    "other_answer_token": "decline-token",
}


def posts(fake: FakeServices) -> list[httpx.Request]:
    return [call for call in fake.calls if call.method != "GET"]


# What a mail client is to the web: a fresh client, no cookie, no page read before it posts.
mail_client = web_client


# --- the initiative's status --------------------------------------------------------------------------


async def test_the_status_page_shows_the_status_and_the_question_and_changes_nothing(
    browser_client: httpx.AsyncClient, fake: FakeServices
) -> None:
    fake.on("GET", f"/api/v1/my/initiatives/{TOKEN}", httpx.Response(200, json=INITIATIVE))
    page = await browser_client.get(f"/my/initiatives/{TOKEN}", headers=EN)
    assert page.status_code == 200
    assert "MM-2026-0042" in page.text and "We have a question for you" in page.text
    assert "Vilka skolor är med?" in page.text
    assert f'action="/my/initiatives/{TOKEN}/answer"' in page.text and 'name="answer"' in page.text
    assert f'href="/my/initiatives/{TOKEN}/withdraw"' in page.text  # the withdraw button asks first
    assert posts(fake) == []
    swedish = await browser_client.get(f"/my/initiatives/{TOKEN}")
    assert "Vi har en fråga till er" in swedish.text


async def test_answering_the_question_sends_the_answer_and_says_so(
    browser_client: httpx.AsyncClient, fake: FakeServices
) -> None:
    fake.on("GET", f"/api/v1/my/initiatives/{TOKEN}", httpx.Response(200, json=INITIATIVE))
    fake.on("POST", f"/api/v1/my/initiatives/{TOKEN}/answer", httpx.Response(200, json=INITIATIVE))
    page = await browser_client.get(f"/my/initiatives/{TOKEN}", headers=EN)
    sent = await browser_client.post(
        f"/my/initiatives/{TOKEN}/answer",
        data={"csrf_token": csrf_of(page), "answer": "Två skolor.", "summary": ""},
        headers=EN,
    )
    assert sent.status_code == 303 and sent.headers["location"] == f"/my/initiatives/{TOKEN}"
    (call,) = posts(fake)
    assert json.loads(call.content) == {"answer": "Två skolor."}
    assert "your answer is sent" in (await browser_client.get(sent.headers["location"], headers=EN)).text


async def test_an_empty_answer_is_refused_beside_its_field(
    browser_client: httpx.AsyncClient, fake: FakeServices
) -> None:
    fake.on("GET", f"/api/v1/my/initiatives/{TOKEN}", httpx.Response(200, json=INITIATIVE))
    refusal = unprocessable([{"field": "answer", "reason": "required", "type": "missing"}])
    fake.on("POST", f"/api/v1/my/initiatives/{TOKEN}/answer", refusal)
    page = await browser_client.get(f"/my/initiatives/{TOKEN}", headers=EN)
    sent = await browser_client.post(
        f"/my/initiatives/{TOKEN}/answer", data={"csrf_token": csrf_of(page), "answer": " "}, headers=EN
    )
    assert sent.status_code == 422
    assert 'id="answer-error"' in sent.text and 'aria-describedby="answer-error"' in sent.text


async def test_withdrawing_asks_first_and_only_the_second_button_withdraws(
    browser_client: httpx.AsyncClient, fake: FakeServices
) -> None:
    fake.on("GET", f"/api/v1/my/initiatives/{TOKEN}", httpx.Response(200, json=INITIATIVE))
    withdrawn = {**INITIATIVE, "status": "withdrawn", "can_answer": False, "can_withdraw": False}
    fake.on("POST", f"/api/v1/my/initiatives/{TOKEN}/withdraw", httpx.Response(200, json=withdrawn))
    question = await browser_client.get(f"/my/initiatives/{TOKEN}/withdraw", headers=EN)
    assert question.status_code == 200 and "Withdraw your initiative?" in question.text
    assert posts(fake) == []
    done = await browser_client.post(
        f"/my/initiatives/{TOKEN}/withdraw", data={"csrf_token": csrf_of(question), "reason": "Annan lösning"}
    )
    assert done.status_code == 303
    (call,) = posts(fake)
    assert json.loads(call.content) == {"reason": "Annan lösning"}


# --- confirming a registration ------------------------------------------------------------------------


async def test_the_confirmation_link_shows_a_button_and_only_its_post_confirms(
    browser_client: httpx.AsyncClient, fake: FakeServices
) -> None:
    shown = {"state": "awaiting_confirmation"}

    def current(_: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={**CONFIRMATION, **shown})

    def press(_: httpx.Request) -> httpx.Response:
        first = shown["state"] == "awaiting_confirmation"
        shown["state"] = "already_confirmed"
        token = "profile-token" if first else None
        return httpx.Response(200, json={**CONFIRMATION, **shown, "just_confirmed": first, "profile_token": token})

    fake.on("GET", f"/api/v1/confirmations/{TOKEN}", current)
    fake.on("POST", f"/api/v1/confirmations/{TOKEN}", press)
    page = await browser_client.get(f"/confirm/{TOKEN}", headers=EN)
    assert page.status_code == 200 and "Confirm your registration" in page.text and "Skanska" in page.text
    assert f'<form method="post" action="/confirm/{TOKEN}">' in page.text
    assert posts(fake) == []

    confirmed = await browser_client.post(f"/confirm/{TOKEN}", data={"csrf_token": csrf_of(page)})
    assert confirmed.status_code == 303
    after = await browser_client.get(confirmed.headers["location"], headers=EN)
    assert "Thank you, you are registered" in after.text and 'href="/my/profile/profile-token"' in after.text

    again = await browser_client.post(f"/confirm/{TOKEN}", data={"csrf_token": csrf_of(page)}, follow_redirects=True)
    assert "Redan bekräftad" in again.text and "profile-token" not in again.text  # a used link says so
    assert len(posts(fake)) == 2


@pytest.mark.parametrize(("state", "words"), [("expired", "Länken har gått ut"), ("replaced", "Länken har ersatts")])
async def test_a_confirmation_link_that_can_no_longer_confirm_says_why_with_410(
    browser_client: httpx.AsyncClient, fake: FakeServices, state: str, words: str
) -> None:
    gone = httpx.Response(410, json={"detail": "gone", "state": state})
    fake.on("GET", f"/api/v1/confirmations/{TOKEN}", gone)
    fake.on("POST", f"/api/v1/confirmations/{TOKEN}", gone)
    page = await browser_client.get(f"/confirm/{TOKEN}")
    assert page.status_code == 410 and words in page.text
    token = csrf_of(await browser_client.get("/resources/new"))  # the session's, from a page with a form
    pressed = await browser_client.post(f"/confirm/{TOKEN}", data={"csrf_token": token})
    assert pressed.status_code == 410 and words in pressed.text


# --- the resource's profile ---------------------------------------------------------------------------


async def test_the_profile_page_shows_the_data_with_every_field_in_the_form(
    browser_client: httpx.AsyncClient, fake: FakeServices
) -> None:
    fake.on("GET", f"/api/v1/my/profile/{TOKEN}", httpx.Response(200, json=PERSON))
    page = await browser_client.get(f"/my/profile/{TOKEN}", headers=EN)
    assert page.status_code == 200 and "Karl Svensson" in page.text and "Recruitment" in page.text
    for name in ("name", "email", "phone", "organisation_name", "organisation_type", "organisation_number",
                 "role_title", "sector", "competences", "tags", "themes", "capacity", "hours_per_month",
                 "languages", "language"):  # fmt: skip
        assert f'name="{name}"' in page.text, name
    assert 'value="lärlingar, bygg"' in page.text
    for action in ("pause", "withdraw"):
        assert f'action="/my/profile/{TOKEN}/{action}"' in page.text
    assert f"/my/profile/{TOKEN}/resume" not in page.text
    assert f'href="/my/profile/{TOKEN}/export"' in page.text and f'href="/my/profile/{TOKEN}/erase"' in page.text
    assert posts(fake) == []


async def test_saving_the_profile_sends_the_whole_profile(
    browser_client: httpx.AsyncClient, fake: FakeServices
) -> None:
    fake.on("GET", f"/api/v1/my/profile/{TOKEN}", httpx.Response(200, json=PERSON))
    fake.on("PUT", f"/api/v1/my/profile/{TOKEN}", httpx.Response(200, json=PERSON))
    page = await browser_client.get(f"/my/profile/{TOKEN}")
    form = {
        "csrf_token": csrf_of(page),
        "name": "Karl Svensson",
        "email": "karl@skanska.example",
        "organisation_name": "Skanska",
        "organisation_type": "business",
        "role_title": "HR partner",
        "sector": "F",
        "competences": ["recruitment", "mentoring"],
        "tags": "lärlingar, bygg",
        "themes": "employment",
        "capacity": "3",
        "languages": ["sv", "en"],
        "language": "sv",
    }
    saved = await browser_client.post(f"/my/profile/{TOKEN}", data=form)
    assert saved.status_code == 303
    (call,) = posts(fake)
    assert call.method == "PUT"
    assert json.loads(call.content) == {
        "name": "Karl Svensson", "email": "karl@skanska.example", "organisation_name": "Skanska",
        "organisation_type": "business", "role_title": "HR partner", "sector": "F",
        "competences": ["recruitment", "mentoring"], "tags": ["lärlingar", "bygg"], "themes": ["employment"],
        "capacity": 3, "languages": ["sv", "en"], "language": "sv",
    }  # fmt: skip
    assert "Din profil är sparad" in (await browser_client.get(f"/my/profile/{TOKEN}")).text


async def test_a_refused_profile_field_is_shown_beside_it(
    browser_client: httpx.AsyncClient, fake: FakeServices
) -> None:
    fake.on("GET", f"/api/v1/my/profile/{TOKEN}", httpx.Response(200, json=PERSON))
    refusal = unprocessable([{"field": "capacity", "reason": "too big", "type": "less_than_equal"}])
    fake.on("PUT", f"/api/v1/my/profile/{TOKEN}", refusal)
    page = await browser_client.get(f"/my/profile/{TOKEN}")
    sent = await browser_client.post(f"/my/profile/{TOKEN}", data={"csrf_token": csrf_of(page), "capacity": "9"})
    assert sent.status_code == 422 and 'id="capacity-error"' in sent.text and 'value="9"' in sent.text


@pytest.mark.parametrize(("move", "words"), [("pause", "pausad"), ("resume", "aktiv igen"), ("withdraw", "lämnat")])
async def test_each_profile_button_acts_and_the_page_says_what_it_did(
    browser_client: httpx.AsyncClient, fake: FakeServices, move: str, words: str
) -> None:
    fake.on("GET", f"/api/v1/my/profile/{TOKEN}", httpx.Response(200, json=PERSON))
    fake.on("POST", f"/api/v1/my/profile/{TOKEN}/{move}", httpx.Response(200, json=PERSON))
    page = await browser_client.get(f"/my/profile/{TOKEN}")
    done = await browser_client.post(f"/my/profile/{TOKEN}/{move}", data={"csrf_token": csrf_of(page)})
    assert done.status_code == 303
    assert [call.url.path for call in posts(fake)] == [f"/api/v1/my/profile/{TOKEN}/{move}"]
    assert words in (await browser_client.get(f"/my/profile/{TOKEN}")).text


async def test_the_export_is_a_json_download(browser_client: httpx.AsyncClient, fake: FakeServices) -> None:
    export = {"resource": PERSON, "events": [], "note": "..."}
    fake.on("GET", f"/api/v1/my/profile/{TOKEN}/export", httpx.Response(200, json=export))
    download = await browser_client.get(f"/my/profile/{TOKEN}/export")
    assert download.status_code == 200 and download.headers["content-type"].startswith("application/json")
    assert download.headers["content-disposition"].startswith("attachment;")
    assert download.json() == export and download.headers["Cache-Control"] == "no-store"


async def test_erasing_asks_first_and_the_second_button_erases(
    browser_client: httpx.AsyncClient, fake: FakeServices
) -> None:
    fake.on("GET", f"/api/v1/my/profile/{TOKEN}", httpx.Response(200, json=PERSON))
    fake.on("DELETE", f"/api/v1/my/profile/{TOKEN}", httpx.Response(204))
    question = await browser_client.get(f"/my/profile/{TOKEN}/erase", headers=EN)
    assert question.status_code == 200 and "cannot be undone" in question.text
    assert posts(fake) == []
    done = await browser_client.post(f"/my/profile/{TOKEN}/erase", data={"csrf_token": csrf_of(question)})
    assert done.status_code == 303 and done.headers["location"] == "/my/erased"
    assert [call.method for call in posts(fake)] == ["DELETE"]
    assert "Your details are erased" in (await browser_client.get("/my/erased", headers=EN)).text


# --- an invitation --------------------------------------------------------------------------------------


async def test_the_invitation_shows_the_initiative_why_and_both_answers(
    browser_client: httpx.AsyncClient, fake: FakeServices
) -> None:
    fake.on("GET", f"/api/v1/invitations/{TOKEN}", httpx.Response(200, json=INVITATION))
    page = await browser_client.get(f"/invitations/{TOKEN}")
    assert page.status_code == 200 and "Sommarjobb för unga i Rosengård" in page.text
    assert "Bidrar med kompetenser som behövs: Rekrytering." in page.text
    assert f'action="/invitations/{TOKEN}"' in page.text and 'action="/invitations/decline-token"' in page.text
    assert "9 november 2026" in page.text
    assert "Covers needed competences" in (await browser_client.get(f"/invitations/{TOKEN}", headers=EN)).text
    assert posts(fake) == []


@pytest.mark.parametrize(("status", "words"), [("accepted", "You are in the working group"),
                                               ("declined", "Thank you for letting us know"),
                                               ("expired", "no longer open")])  # fmt: skip
async def test_answering_the_invitation_acts_and_the_page_then_shows_the_answer(
    browser_client: httpx.AsyncClient, fake: FakeServices, status: str, words: str
) -> None:
    answered = {**INVITATION, "status": status, "open": False}
    seen = [INVITATION]
    fake.on("GET", f"/api/v1/invitations/{TOKEN}", lambda _: httpx.Response(200, json=seen[-1]))

    def answer(_: httpx.Request) -> httpx.Response:
        seen.append(answered)
        return httpx.Response(200, json=answered)

    fake.on("POST", f"/api/v1/invitations/{TOKEN}", answer)
    page = await browser_client.get(f"/invitations/{TOKEN}")
    done = await browser_client.post(f"/invitations/{TOKEN}", data={"csrf_token": csrf_of(page)})
    assert done.status_code == 303 and done.headers["location"] == f"/invitations/{TOKEN}"
    after = await browser_client.get(f"/invitations/{TOKEN}", headers=EN)
    assert words in after.text and '<form method="post" action="/invitations' not in after.text


# --- the digest's unsubscribe link ----------------------------------------------------------------------


async def test_the_unsubscribe_link_shows_a_button_and_its_post_stops_the_digest(
    browser_client: httpx.AsyncClient, fake: FakeServices
) -> None:
    mode = {"alert_mode": "daily_digest", "language": None}
    fake.on("GET", f"/api/v1/unsubscribe/{TOKEN}", lambda _: httpx.Response(200, json=mode))

    def stop(_: httpx.Request) -> httpx.Response:
        mode["alert_mode"] = "immediate"
        return httpx.Response(200, json=mode)

    fake.on("POST", f"/api/v1/unsubscribe/{TOKEN}", stop)
    page = await browser_client.get(f"/unsubscribe/{TOKEN}", headers=EN)
    assert "Stop the daily digest" in page.text and f'action="/unsubscribe/{TOKEN}"' in page.text
    assert posts(fake) == []
    done = await browser_client.post(f"/unsubscribe/{TOKEN}", data={"csrf_token": csrf_of(page)}, headers=EN)
    assert done.status_code == 303
    after = await browser_client.get(f"/unsubscribe/{TOKEN}", headers=EN)
    assert "No daily digest" in after.text and "each alert straight away" in after.text


async def test_a_mail_clients_one_click_unsubscribe_needs_no_session(fake: FakeServices) -> None:
    fake.on("POST", f"/api/v1/unsubscribe/{TOKEN}", httpx.Response(200, json={"alert_mode": "immediate"}))
    async with mail_client(fake) as client:  # no cookie, no CSRF token: RFC 8058's POST as Gmail makes it
        answer = await client.post(
            f"/unsubscribe/{TOKEN}",
            content="List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    assert answer.status_code == 200
    assert [call.url.path for call in posts(fake)] == [f"/api/v1/unsubscribe/{TOKEN}"]


@pytest.mark.parametrize(
    "body", ["List-Unsubscribe=One-Click&then=more", "List-Unsubscribe=Yes", "", "csrf_token=forged"]
)
async def test_any_other_post_to_the_unsubscribe_link_without_the_token_is_refused(
    fake: FakeServices, body: str
) -> None:
    async with mail_client(fake) as client:
        answer = await client.post(
            f"/unsubscribe/{TOKEN}", content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
        )
    assert answer.status_code == 403
    assert fake.calls == []


# --- what every link page shares ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "service_path"),
    [
        (f"/my/initiatives/{TOKEN}", f"/api/v1/my/initiatives/{TOKEN}"),
        (f"/confirm/{TOKEN}", f"/api/v1/confirmations/{TOKEN}"),
        (f"/my/profile/{TOKEN}", f"/api/v1/my/profile/{TOKEN}"),
        (f"/invitations/{TOKEN}", f"/api/v1/invitations/{TOKEN}"),
        (f"/unsubscribe/{TOKEN}", f"/api/v1/unsubscribe/{TOKEN}"),
    ],
)
async def test_a_link_the_service_does_not_know_is_the_not_found_page_and_no_link_page_is_kept(
    browser_client: httpx.AsyncClient, fake: FakeServices, path: str, service_path: str
) -> None:
    page = await browser_client.get(path)  # the fake answers 404 for everything it was not told
    assert page.status_code == 404 and "Vi hittade inte sidan" in page.text
    assert [call.url.path for call in fake.calls] == [service_path]
    assert page.headers["Cache-Control"] == "no-store" and page.headers["X-Robots-Tag"] == "noindex"
    assert page.headers["Referrer-Policy"] == "no-referrer"  # the token never leaks to another site
