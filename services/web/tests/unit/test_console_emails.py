"""The emails page on a fake notifications service: the log's filters reach it as its query parameters,
failures stand out with a retry button for coordinators (none for operators), a refused retry is said in
words, and a coordinator chooses immediate alerts or a daily digest."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx

from services.web.tests.conftest import FakeServices, unprocessable
from services.web.tests.unit.test_console_groups import signed_in

FAILED = str(uuid.UUID(int=7))


def delivery(status: str = "sent", **more: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()), "event_id": str(uuid.uuid4()), "event_type": "InitiativeSubmitted",
        "template": "originator_receipt", "recipient": "k***@example.org", "recipient_role": "originator",
        "language": "sv", "subject": "Vi har tagit emot ert initiativ", "status": status, "attempts": 1,
        "last_error": None, "next_attempt_at": None, "sent_at": "2026-03-02T09:01:00Z" if status == "sent" else None,
        "message_id": "<x@meetmalmo.se>", "erased": False, "created_at": "2026-03-02T09:00:00Z",
        "updated_at": "2026-03-02T09:01:00Z", **more,
    }  # fmt: skip


def log(*items: dict[str, Any], total: int | None = None) -> httpx.Response:
    return httpx.Response(200, json={"items": list(items), "total": total or len(items), "limit": 50, "offset": 0})


FAILURE = delivery("failed", id=FAILED, attempts=5, last_error="550 5.1.1 no such user")


async def test_the_logs_filters_reach_notifications_and_a_day_is_a_whole_day_in_malmo(
    browser_client: httpx.AsyncClient, fake: FakeServices
) -> None:
    fake.on("GET", "/api/v1/deliveries", log(FAILURE, delivery(), total=120))
    await signed_in(browser_client)
    page = await browser_client.get(
        "/staff/emails?status=failed&template=originator_receipt&recipient_role=originator"
        "&from=2026-03-01&until=2026-03-02&offset=50"
    )
    assert page.status_code == 200
    (call,) = [c for c in fake.calls if c.url.path == "/api/v1/deliveries"]
    assert call.headers["Authorization"].startswith("Bearer ")
    assert dict(call.url.params) == {
        "status": "failed", "template": "originator_receipt", "recipient_role": "originator",
        "from": "2026-03-01T00:00:00+01:00", "until": "2026-03-03T00:00:00+01:00", "limit": "50", "offset": "50",
    }  # fmt: skip
    html = page.text
    assert '<tr class="failed">' in html and "<strong>Misslyckades</strong>" in html and "5 försök" in html
    assert "Senaste svar: 550 5.1.1 no such user" in html and "Kvitto på ett inskickat initiativ" in html
    assert f'action="/staff/emails/{FAILED}/retry"' in html and html.count("/retry") == 1  # only the failed one
    assert "Visar 51–100 av 120" in html and 'value="2026-03-01"' in html


async def test_a_day_that_is_not_a_date_is_refused_beside_its_field(
    browser_client: httpx.AsyncClient, fake: FakeServices
) -> None:
    await signed_in(browser_client)
    page = await browser_client.get("/staff/emails?from=yesterday")
    assert page.status_code == 422 and 'id="from-error">' in page.text and fake.calls == []


async def test_a_retry_goes_to_notifications_and_comes_back_to_the_same_page_of_the_log(
    browser_client: httpx.AsyncClient, fake: FakeServices
) -> None:
    fake.on("GET", "/api/v1/deliveries", log(FAILURE))
    fake.on("POST", f"/api/v1/deliveries/{FAILED}/retry", httpx.Response(200, json=delivery("queued", id=FAILED)))
    csrf = await signed_in(browser_client)
    page = await browser_client.get("/staff/emails?status=failed")
    back = page.text.split('name="back" value="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    answer = await browser_client.post(f"/staff/emails/{FAILED}/retry", data={"csrf_token": csrf, "back": back})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/staff/emails?status=failed&offset=0&done=retried"
    (retry,) = [c for c in fake.calls if c.method == "POST"]
    assert retry.headers["Authorization"].startswith("Bearer ")
    shown = await browser_client.get(answer.headers["location"])
    assert "E-postmeddelandet ligger i kön igen och skickas nu." in shown.text


async def test_a_retry_that_is_no_longer_possible_is_said_in_words_and_back_leads_nowhere_else(
    browser_client: httpx.AsyncClient, fake: FakeServices
) -> None:
    fake.on("GET", "/api/v1/deliveries", log(delivery()))
    conflict = {"detail": "cannot retry a delivery that is sent", "current_status": "sent", "action": "retry"}
    fake.on("POST", f"/api/v1/deliveries/{FAILED}/retry", httpx.Response(409, json=conflict))
    csrf = await signed_in(browser_client)
    answer = await browser_client.post(
        f"/staff/emails/{FAILED}/retry", data={"csrf_token": csrf, "back": "next=https://evil.example&status=failed"}
    )
    assert answer.status_code == 409 and "Det här e-postmeddelandet kan inte skickas igen" in answer.text
    (listed,) = [c for c in fake.calls if c.url.path == "/api/v1/deliveries"]
    assert dict(listed.url.params) == {"status": "failed", "limit": "50", "offset": "0"}


async def test_an_operator_reads_the_log_without_retry_buttons(
    browser_client: httpx.AsyncClient, fake: FakeServices
) -> None:
    fake.on("GET", "/api/v1/deliveries", log(FAILURE))
    csrf = await signed_in(browser_client, "operator")
    page = await browser_client.get("/staff/emails")
    assert page.status_code == 200 and "<strong>Misslyckades</strong>" in page.text and "/retry" not in page.text
    refused = await browser_client.post(f"/staff/emails/{FAILED}/retry", data={"csrf_token": csrf})
    assert refused.status_code == 403 and not [c for c in fake.calls if c.method == "POST"]


async def test_a_coordinator_chooses_the_daily_digest_in_english(
    browser_client: httpx.AsyncClient, fake: FakeServices
) -> None:
    fake.on("GET", "/api/v1/preferences/me", httpx.Response(200, json={"alert_mode": "immediate", "language": None}))
    fake.on("PUT", "/api/v1/preferences/me", httpx.Response(200, json={"alert_mode": "daily_digest", "language": "en"}))
    csrf = await signed_in(browser_client)
    page = await browser_client.get("/staff/preferences")
    assert 'value="immediate" checked' in page.text and 'value="sv" checked' in page.text
    answer = await browser_client.post(
        "/staff/preferences", data={"csrf_token": csrf, "alert_mode": "daily_digest", "language": "en"}
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/staff/preferences?done=saved"
    (put,) = [c for c in fake.calls if c.method == "PUT"]
    assert json.loads(put.content) == {"alert_mode": "daily_digest", "language": "en"}
    assert put.headers["Authorization"].startswith("Bearer ")


async def test_a_refused_preference_is_shown_beside_its_field(
    browser_client: httpx.AsyncClient, fake: FakeServices
) -> None:
    errors = [{"field": "alert_mode", "reason": "Field required", "type": "missing"}]
    fake.on("PUT", "/api/v1/preferences/me", unprocessable(errors))
    csrf = await signed_in(browser_client)
    answer = await browser_client.post("/staff/preferences", data={"csrf_token": csrf, "language": "sv"})
    assert answer.status_code == 422 and 'id="alert_mode-error">Fyll i fältet.</p>' in answer.text


async def test_an_operator_has_no_alerts_to_choose(browser_client: httpx.AsyncClient, fake: FakeServices) -> None:
    await signed_in(browser_client, "operator")
    page = await browser_client.get("/staff/preferences")
    assert page.status_code == 200 and "Bara processledare får aviseringar" in page.text
    assert 'action="/staff/preferences"' not in page.text and fake.calls == []
