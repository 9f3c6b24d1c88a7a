"""One trace from the portal's POST to the SMTP server, on the real parts: a person sends the portal's form
to the web, the web asks intake, intake's event crosses Kafka to matching's and notifications' consumers,
and notifications hands the receipt and the coordinator's alert to the SMTP server — every span in one
trace, each the child of the step before, as an in-memory exporter records them."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan

from shared.contracts import Topic
from shared.testing import (
    SERVICES,
    Mailbox,
    drop_database,
    eventually,
    free_port,
    migrated_database,
    new_namespace,
    recorded_spans,
    running_services,
    serve_in_thread,
    staff_headers,
)

pytestmark = pytest.mark.integration

SECRET = "traces-tests-secret-of-at-least-32-characters"
COORDINATOR = "eva.coordinator@malmo.se"
ORIGINATOR = "sara.ek@ingenjorsbyran.example"
WAIT = 30.0


@dataclass
class Site:
    web: str
    api: dict[str, str]
    mailbox: Mailbox


@pytest.fixture
async def site(kafka_bootstrap: str, postgres_server: str) -> AsyncIterator[Site]:
    from services.web.bootstrap import create_app as create_web
    from services.web.settings import Settings as WebSettings

    databases = {name: await migrated_database(postgres_server, name) for name in SERVICES}
    web_port = free_port()
    web_url = f"http://127.0.0.1:{web_port}"
    try:
        with (
            running_services(
                databases, kafka_bootstrap, new_namespace(), secret=SECRET, web_public_url=web_url,
                coordinators=[COORDINATOR], public_rate_limit="100000/minute",
            ) as services,
            contextlib.ExitStack() as web,
        ):  # fmt: skip
            settings = WebSettings(**{f"{name}_url": services.api[name] for name in SERVICES},
                                   public_url=web_url, session_secret=SECRET, platform=services.platform)  # fmt: skip
            web.enter_context(serve_in_thread(create_web(settings), web_port))
            yield Site(web_url, services.api, services.mailbox)
    finally:
        for url in databases.values():
            await drop_database(url)


async def send_the_portal_form(web: str) -> None:
    async with httpx.AsyncClient(base_url=web, timeout=10.0) as browser:
        form = await browser.get("/initiatives/new")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        key = re.search(r'name="idempotency_key" value="([^"]+)"', form.text)
        assert token and key
        answer = await browser.post("/initiatives/new", data={
            "csrf_token": token.group(1), "idempotency_key": key.group(1),
            "title": "Praktikplatser för nyanlända ingenjörer",
            "summary": "Ingenjörsbyråer i Malmö erbjuder praktik till nyanlända ingenjörer.",
            "originator.organisation_name": "Ingenjörsbyrån Syd AB", "originator.organisation_type": "business",
            "originator.organisation_number": "", "originator.contact_name": "Sara Ek",
            "originator.contact_email": ORIGINATOR, "themes": "establishment_of_new_arrivals",
            "seeking": "collaboration_partners", "group_size.min": "2", "group_size.max": "3", "consent": "true",
        })  # fmt: skip
        assert answer.status_code in {200, 303}, answer.text[:500]


def chain(span: ReadableSpan, by_id: dict[int, ReadableSpan]) -> list[str]:
    """The names of the span and its ancestors, nearest first."""
    names = []
    current: ReadableSpan | None = span
    while current is not None:
        names.append(current.name)
        current = by_id.get(current.parent.span_id) if current.parent is not None else None
    return names


def spans_of_trace(spans: tuple[ReadableSpan, ...], root: ReadableSpan) -> dict[int, ReadableSpan]:
    assert root.context is not None
    return {
        s.context.span_id: s for s in spans if s.context is not None and s.context.trace_id == root.context.trace_id
    }


def consumer_spans(in_trace: dict[int, ReadableSpan], topic: str) -> dict[object, ReadableSpan]:
    """The consumers' spans of records of `topic`, by consumer group."""
    return {
        s.attributes.get("messaging.consumer.group.name"): s
        for s in in_trace.values()
        if s.kind == trace.SpanKind.CONSUMER and s.attributes and s.name == f"{topic} process"
    }


async def test_one_trace_runs_from_the_portal_post_through_kafka_and_the_consumer_to_the_smtp_send(
    site: Site,
) -> None:
    with recorded_spans() as exporter:
        await send_the_portal_form(site.web)
        await eventually(lambda: site.mailbox.to(ORIGINATOR) and site.mailbox.to(COORDINATOR), timeout=WAIT)
        await eventually(lambda: len([s for s in exporter.get_finished_spans() if s.name == "smtp send"]) >= 2,
                         timeout=WAIT)  # fmt: skip
        spans = exporter.get_finished_spans()

    (portal,) = [s for s in spans if s.name == "POST /initiatives/new" and s.kind == trace.SpanKind.SERVER]
    assert portal.parent is None  # the trace starts at the portal's POST
    in_trace = spans_of_trace(spans, portal)
    (intake,) = [
        s for s in in_trace.values() if s.name == "POST /api/v1/initiatives" and s.kind == trace.SpanKind.SERVER
    ]
    assert chain(intake, in_trace)[-1] == "POST /initiatives/new"  # the web's call carried the trace to intake
    consumed = consumer_spans(in_trace, Topic.INITIATIVES)
    assert "notifications" in consumed  # InitiativeSubmitted crossed Kafka inside the trace
    assert "POST /api/v1/initiatives" in chain(consumed["notifications"], in_trace)
    sends = [s for s in in_trace.values() if s.name == "smtp send"]
    assert len(sends) == 2, "the receipt and the coordinator's alert, each sent in the trace"
    for send in sends:
        assert send.parent is not None and in_trace[send.parent.span_id] is consumed["notifications"]
        assert chain(send, in_trace)[-1] == "POST /initiatives/new"


def ancestors(span: ReadableSpan, in_trace: dict[int, ReadableSpan]) -> list[ReadableSpan]:
    found = []
    while span.parent is not None and span.parent.span_id in in_trace:
        span = in_trace[span.parent.span_id]
        found.append(span)
    return found


async def test_an_acceptance_is_one_trace_through_intake_matching_and_notifications_to_the_smtp_send(
    site: Site,
) -> None:
    await send_the_portal_form(site.web)
    await eventually(lambda: site.mailbox.to(COORDINATOR), timeout=WAIT)
    async with httpx.AsyncClient(base_url=site.api["intake"], headers=staff_headers(SECRET), timeout=10.0) as intake:
        (initiative,) = (await intake.get("/api/v1/initiatives")).json()["items"]
        with recorded_spans() as exporter:
            accepted = await intake.post(f"/api/v1/initiatives/{initiative['id']}/accept")
            assert accepted.status_code == 200, accepted.text

            def sent_after_matching() -> list[ReadableSpan]:
                """Nobody is in the pool yet: matching's event tells notifications to email the coordinators."""
                spans = exporter.get_finished_spans()
                by_id = {s.context.span_id: s for s in spans if s.context is not None}
                return [s for s in spans if s.name == "smtp send" and s.parent is not None
                        and getattr(by_id.get(s.parent.span_id), "name", "") == f"{Topic.GROUPS} process"]  # fmt: skip

            (send,) = await eventually(sent_after_matching, timeout=WAIT)
            spans = exporter.get_finished_spans()

    (accept,) = [s for s in spans if s.name == "POST /api/v1/initiatives/{initiative_id}/accept"
                 and s.kind == trace.SpanKind.SERVER]  # fmt: skip
    in_trace = spans_of_trace(spans, accept)
    assert send.context is not None and send.context.span_id in in_trace
    notified, matching, *rest = ancestors(send, in_trace)
    # smtp send <- notifications applies matching's event <- matching applies InitiativeAccepted <- the POST
    group_of = {span: (span.attributes or {}).get("messaging.consumer.group.name") for span in (notified, matching)}
    assert (notified.name, group_of[notified]) == (f"{Topic.GROUPS} process", "notifications")
    assert (matching.name, group_of[matching]) == (f"{Topic.INITIATIVES} process", "matching")
    assert accept in rest and accept.parent is None
