"""The HTTP edge every service shares (shared.web.Edge, BodySizeLimit): the server span continues the caller's
trace and is named by the route template, every request is counted by template, method and status (a 404
and a 500 too), the correlation id is echoed, and a body over the limit is refused also when it is chunked."""

from __future__ import annotations

import ast
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter, FastAPI, Request
from opentelemetry import trace
from prometheus_client.parser import text_string_to_metric_families
from starlette.types import Receive, Scope, Send

from shared.context import correlation_id
from shared.metrics import AppMetrics
from shared.testing import recorded_spans
from shared.tracing import NATIVE_TELEMETRY_OFF, current_traceparent
from shared.web import BodySizeLimit, Edge, route_template

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
PARENT_SPAN_ID = "b7ad6b7169203331"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_SPAN_ID}-01"


def edge_app() -> tuple[FastAPI, AppMetrics]:
    app = FastAPI(telemetry=NATIVE_TELEMETRY_OFF)
    metrics = AppMetrics("tests")
    app.add_middleware(BodySizeLimit, max_bytes=100)
    app.add_middleware(Edge, metrics=metrics.http)

    @app.get("/api/v1/things/{thing_id}")
    async def thing(thing_id: int) -> dict[str, str | None]:
        # What the route's work sees: the request's correlation id and the span a stored event would carry.
        return {"correlation_id": correlation_id.get(), "traceparent": current_traceparent()}

    @app.get("/api/v1/broken")
    async def broken() -> None:
        raise RuntimeError("a bug")

    @app.post("/api/v1/things")
    async def create(request: Request) -> dict[str, int]:
        return {"received": len(await request.body())}

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    metrics.serve(app)
    return app, metrics


@contextlib.asynccontextmanager
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://edge.test") as http:
        yield http


def sample(scraped: str, name: str, **labels: str) -> float | None:
    for family in text_string_to_metric_families(scraped):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return float(s.value)
    return None


async def test_the_server_span_continues_the_callers_trace_and_is_named_by_the_route_template() -> None:
    app, _ = edge_app()
    with recorded_spans() as exporter:
        async with client(app) as http:
            answer = await http.get("/api/v1/things/7", headers={"traceparent": TRACEPARENT, "user-agent": "ua"})
        (span,) = [s for s in exporter.get_finished_spans() if s.kind == trace.SpanKind.SERVER]
    assert answer.status_code == 200
    assert span.name == "GET /api/v1/things/{thing_id}"
    assert span.parent is not None and span.parent.is_remote
    assert (f"{span.parent.trace_id:032x}", f"{span.parent.span_id:016x}") == (TRACE_ID, PARENT_SPAN_ID)
    assert span.context is not None
    # The route ran inside the span: what it stores for later work (the outbox's traceparent) names it.
    assert answer.json()["traceparent"] == f"00-{TRACE_ID}-{span.context.span_id:016x}-01"
    attributes = dict(span.attributes or {})
    assert attributes["http.route"] == "/api/v1/things/{thing_id}"
    assert attributes["http.status_code"] == 200
    assert (attributes["http.method"], attributes["http.target"], attributes["http.user_agent"]) == (
        "GET", "/api/v1/things/7", "ua",
    )  # fmt: skip


async def test_a_request_without_trace_headers_starts_a_trace_and_probes_start_none() -> None:
    app, _ = edge_app()
    with recorded_spans() as exporter:
        async with client(app) as http:
            await http.get("/api/v1/things/7")
            await http.get("/healthz")
            await http.get("/metrics")
        spans = [s for s in exporter.get_finished_spans() if s.kind == trace.SpanKind.SERVER]
    assert [(s.name, s.parent) for s in spans] == [("GET /api/v1/things/{thing_id}", None)]


async def test_a_failing_route_is_a_500_counted_under_its_template_and_an_error_span() -> None:
    app, _ = edge_app()
    with recorded_spans() as exporter:
        async with client(app) as http:
            answer = await http.get("/api/v1/broken")
            scraped = (await http.get("/metrics")).text
        (span,) = [s for s in exporter.get_finished_spans() if s.kind == trace.SpanKind.SERVER]
    assert answer.status_code == 500
    assert sample(scraped, "http_requests_total", handler="/api/v1/broken", method="GET", status="500") == 1
    assert span.name == "GET /api/v1/broken" and span.status.status_code == trace.StatusCode.ERROR
    assert [event.name for event in span.events] == ["exception"]


async def test_every_request_is_counted_by_template_method_and_status_and_an_unknown_path_as_none() -> None:
    app, _ = edge_app()
    async with client(app) as http:
        for thing in (1, 2, 3):
            assert (await http.get(f"/api/v1/things/{thing}")).status_code == 200
        assert (await http.get("/api/v1/things/not-a-number")).status_code == 422
        assert (await http.get("/nothing/here")).status_code == 404
        assert (await http.get("/healthz")).status_code == 200
        await http.get("/metrics")
        scraped = (await http.get("/metrics")).text
    things = {"handler": "/api/v1/things/{thing_id}", "method": "GET"}
    assert sample(scraped, "http_requests_total", **things, status="200") == 3
    assert sample(scraped, "http_requests_total", **things, status="422") == 1
    assert sample(scraped, "http_request_duration_seconds_count", **things, status="200") == 3
    assert sample(scraped, "http_requests_total", handler="none", method="GET", status="404") == 1
    assert sample(scraped, "http_requests_total", handler="/healthz") is None  # probes and scrapes: not counted
    assert sample(scraped, "http_requests_total", handler="/metrics") is None


async def test_the_callers_correlation_id_is_echoed_and_worked_under_and_a_new_one_is_made_without() -> None:
    app, _ = edge_app()
    async with client(app) as http:
        given = await http.get("/api/v1/things/1", headers={"x-correlation-id": "from-the-web"})
        made = await http.get("/api/v1/things/1")
    assert given.headers["x-correlation-id"] == given.json()["correlation_id"] == "from-the-web"
    assert made.headers["x-correlation-id"] == made.json()["correlation_id"]
    assert len(made.headers["x-correlation-id"]) == 36  # a uuid4


@pytest.mark.parametrize("chunked", [False, True])
async def test_a_body_over_the_limit_is_refused_with_413_also_when_chunked(chunked: bool) -> None:
    app, _ = edge_app()

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(5):
            yield b"x" * 30

    async with client(app) as http:
        small = await http.post("/api/v1/things", content=b"x" * 90)
        answer = await http.post("/api/v1/things", content=chunks() if chunked else b"x" * 150)
        scraped = (await http.get("/metrics")).text
    assert small.json() == {"received": 90}
    if chunked:  # no declared length: the limit is counted as the body arrives
        assert "content-length" not in answer.request.headers
    assert answer.status_code == 413 and "over 100 bytes" in answer.json()["detail"]
    assert sample(scraped, "http_requests_total", method="POST", status="413") == 1


def test_no_router_is_included_under_a_prefix_so_the_route_the_router_chose_names_its_template() -> None:
    """The edge labels a request with the path of the route the router left in the scope; a prefix given to
    include_router is not part of that path (FastAPI keeps it on the inclusion), so the label would be wrong."""
    root = Path(__file__).resolve().parent.parent
    prefixed = [
        f"{source.relative_to(root)}:{call.lineno}"
        for source in [*root.glob("services/*/**/*.py"), *root.glob("shared/**/*.py")]
        if "tests" not in source.parts
        for call in ast.walk(ast.parse(source.read_text()))
        if isinstance(call, ast.Call)
        and isinstance(call.func, ast.Attribute)
        and call.func.attr == "include_router"
        and any(keyword.arg == "prefix" for keyword in call.keywords)
    ]
    assert prefixed == []


async def test_a_prefix_given_to_include_router_is_what_the_edge_would_miss() -> None:
    """The premise of the check above, on this FastAPI: the chosen route's path lacks the inclusion's prefix."""
    router = APIRouter()

    @router.get("/things/{thing_id}")
    async def thing(thing_id: int) -> None: ...

    app = FastAPI(telemetry=NATIVE_TELEMETRY_OFF)
    app.include_router(router, prefix="/api")
    seen: list[str | None] = []

    async def peek(scope: Scope, receive: Receive, send: Send) -> None:
        await app(scope, receive, send)
        seen.append(route_template(scope))

    async with httpx.AsyncClient(transport=httpx.ASGITransport(peek), base_url="http://edge.test") as http:
        assert (await http.get("/api/things/1")).status_code == 200
    assert seen == ["/things/{thing_id}"]
