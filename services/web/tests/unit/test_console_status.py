"""The console's status page on fake services: what each service's /readyz and /metrics say becomes the
page's rows, a service that is not ready names its failing checks, one that does not answer says so, and
the figures are read from the right service."""

from __future__ import annotations

import re

import httpx

from services.web.bootstrap import create_app, services_of
from services.web.tests.conftest import csrf_of, web_settings

PORTS = {8001: "intake", 8002: "resources", 8003: "matching", 8004: "notifications"}
COMMON = """
meetmalmo_outbox_oldest_unsent_age_seconds 0
meetmalmo_background_task_up{task="outbox-relay"} 1
meetmalmo_dead_letter_messages{topic="meetmalmo.groups.v1.dlq"} 2
meetmalmo_readiness_check{check="database"} 1
"""
METRICS = {
    "intake": COMMON
    + """
meetmalmo_readiness_check{check="broker"} 1
meetmalmo_outbox_pending_rows 0
kafka_consumergroup_lag{consumergroup="intake",topic="meetmalmo.groups.v1",partition="0"} 0
meetmalmo_initiatives{status="submitted"} 4
meetmalmo_initiatives{status="group_formed"} 1
meetmalmo_initiative_submission_to_group_formed_seconds_count 1
meetmalmo_initiative_submission_to_group_formed_seconds_sum 172800
""",
    "resources": COMMON.replace('"outbox-relay"} 1', '"outbox-relay"} 0')
    + """
meetmalmo_readiness_check{check="broker"} 1
meetmalmo_outbox_pending_rows 0
meetmalmo_resources{organisation_type="municipality",status="active"} 3
meetmalmo_resources{organisation_type="municipality",status="paused"} 1
""",
    "notifications": COMMON
    + """
meetmalmo_readiness_check{check="broker"} 0
kafka_consumergroup_lag{consumergroup="notifications",topic="meetmalmo.initiatives.v1",partition="0"} 7
kafka_consumergroup_lag{consumergroup="notifications",topic="meetmalmo.initiatives.v1",partition="1"} 5
meetmalmo_outbox_pending_rows 3
meetmalmo_outbox_quarantined_rows 1
meetmalmo_emails{status="sent"} 12
meetmalmo_emails{status="failed"} 2
meetmalmo_emails_retried 4
""",
}


def services(request: httpx.Request) -> httpx.Response:
    service = PORTS[request.url.port or 0]
    if service == "matching":
        raise httpx.ConnectError("nobody listens")
    if request.url.path == "/readyz":
        ready = service != "notifications"
        return httpx.Response(200 if ready else 503, json={"ready": ready})
    if request.url.path == "/metrics":
        return httpx.Response(200, text=METRICS[service], headers={"content-type": "text/plain; version=0.0.4"})
    return httpx.Response(404)


def row(page: str, heading: str) -> str:
    found = re.search(rf"<tr[^>]*>\s*<th scope=\"row\">{re.escape(heading)}</th>(.*?)</tr>", page, re.S)
    assert found, f"no row {heading!r}"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(1))).strip()


async def status_page(role: str = "operator") -> httpx.Response:
    settings = web_settings()
    app = create_app(settings, services_of(settings, httpx.MockTransport(services)))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://web.test") as client,
    ):
        form = await client.get("/staff/sign-in")
        data = {"csrf_token": csrf_of(form), "name": "Omar", "email": "omar@malmo.se", "role": role, "next": "/staff"}
        assert (await client.post("/staff/sign-in", data=data)).status_code == 303
        return await client.get("/staff/status?lang=en")


async def test_a_service_not_ready_names_its_failing_check_and_one_not_answering_says_so() -> None:
    answer = await status_page()
    assert answer.status_code == 200
    page = answer.text
    assert "A service is not ready or not answering" in page
    assert row(page, "intake").startswith("Yes 0 messages 0")
    assert row(page, "notifications").startswith("No Failing: broker 12 messages 3 1 quarantined: the broker cannot")
    assert row(page, "matching").startswith("Not answering")
    assert row(page, "resources").endswith("outbox-relay")  # a stopped task, by name


async def test_the_figures_come_from_the_service_that_holds_them() -> None:
    page = (await status_page("coordinator")).text
    assert row(page, "meetmalmo.groups.v1.dlq") == "2"  # every service reports it; counted once
    assert row(page, "Sent") == "12" and row(page, "Failed") == "2" and row(page, "Needed more than one try") == "4"
    assert row(page, "Submitted") == "4" and row(page, "Working group formed") == "1"
    assert "On average 2.0 days from submission to a formed working group." in page
    assert row(page, "Municipality") == "3"  # active ones only
    assert row(page, "Formed") == "0"  # matching did not answer: nothing made up


async def test_the_webs_metrics_answer_the_scraper_but_not_a_visitor_through_the_ingress() -> None:
    settings = web_settings()
    app = create_app(settings, services_of(settings, httpx.MockTransport(services)))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://web.test") as client:
        scraped = await client.get("/metrics")
        assert scraped.status_code == 200 and "http_requests_total" in scraped.text
        through_ingress = await client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.7"})
        assert through_ingress.status_code == 404
