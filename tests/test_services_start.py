"""Each service starts on its own PostgreSQL database and the real broker and reports ready."""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Awaitable, Callable

import httpx
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from shared.cli import SERVICES
from shared.settings import PlatformSettings
from tests.json_logs import json_logs
from tests.test_platform_journey import INITIATIVE

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("service", SERVICES)
async def test_the_service_is_ready_with_its_database_and_the_broker(
    service: str, service_database: Callable[[str], Awaitable[str]], kafka_bootstrap: str, topic_namespace: str
) -> None:
    bootstrap = importlib.import_module(f"services.{service}.bootstrap")
    settings = bootstrap.Settings(
        database_url=await service_database(service),
        platform=PlatformSettings(kafka_bootstrap=kafka_bootstrap, topic_namespace=topic_namespace),
    )
    app = bootstrap.create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client,
    ):
        assert (await client.get("/healthz")).json() == {"status": "ok", "service": service}
        for _ in range(100):
            ready = await client.get("/readyz")
            if ready.status_code == 200:
                break
            await asyncio.sleep(0.1)
        assert ready.status_code == 200, ready.text
        checks = ready.json()["checks"]
        # Named checks: the parts, each supervised background task, each consumer group, the outbox's age.
        assert {"database", "broker", "task:broker-connect", "task:outbox-relay", "outbox"} <= set(checks)
        consumers = [name for name in checks if name.startswith("consumer:")]
        assert len(consumers) == len(app.state.infra.consumers)  # resources consumes nothing
        assert ready.json()["ready"] is True and all(checks.values())


async def test_readiness_says_503_naming_the_broker_when_kafka_is_unreachable_but_still_takes_traffic(
    service_database: Callable[[str], Awaitable[str]],
) -> None:
    bootstrap = importlib.import_module("services.intake.bootstrap")
    settings = bootstrap.Settings(
        database_url=await service_database("intake"), platform=PlatformSettings(kafka_bootstrap="127.0.0.1:1")
    )
    app = bootstrap.create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client,
    ):
        ready = await client.get("/readyz")
        for_traffic = await client.get("/readyz", params={"scope": "traffic"})
        submitted = await client.post("/api/v1/initiatives", json=INITIATIVE)
    assert ready.status_code == 503
    checks = ready.json()["checks"]
    assert checks["database"] is True and checks["broker"] is False
    assert not any(ok for name, ok in checks.items() if name.startswith("consumer:"))
    # The load balancer's question: the replica answers requests (the event waits in the outbox).
    assert for_traffic.status_code == 200 and for_traffic.json()["checks"]["broker"] is False
    assert submitted.status_code == 201, submitted.text


@pytest.mark.parametrize("service", SERVICES)
async def test_the_migrations_build_exactly_the_tables_the_code_uses(
    service: str, service_database: Callable[[str], Awaitable[str]]
) -> None:
    metadata = importlib.import_module(f"services.{service}.db").metadata
    engine = create_async_engine(await service_database(service))
    async with engine.connect() as connection:
        differences = await connection.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync, opts={"compare_type": True}), metadata)
        )
    await engine.dispose()
    assert differences == []


async def test_a_request_that_finds_the_database_away_is_answered_503_with_retry_after_and_no_traceback() -> None:
    bootstrap = importlib.import_module("services.intake.bootstrap")
    settings = bootstrap.Settings(
        database_url="postgresql+asyncpg://postgres@127.0.0.1:1/intake",  # nothing listens: connections are refused
        platform=PlatformSettings(environment="local", kafka_bootstrap="127.0.0.1:1"),
    )
    app = bootstrap.create_app(settings)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    with json_logs("intake") as lines:
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://test") as client,
        ):
            submitted = await client.post("/api/v1/initiatives", json=INITIATIVE)
        logged = lines()
    assert submitted.status_code == 503, submitted.text
    assert submitted.headers["Retry-After"] == "5"
    assert "try again" in submitted.json()["detail"]
    [warning] = [line for line in logged if line["event"] == "http.dependency_unavailable"]
    assert warning["level"] == "warning" and "Connect call failed" in warning["error"]
    assert not [line for line in logged if line["level"] == "error"]
