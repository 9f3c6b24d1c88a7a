"""Intake under test: its app on a throw-away PostgreSQL database and the real Kafka broker."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from services.intake.bootstrap import create_app
from services.intake.settings import Settings
from services.intake.tests.factories import valid_initiative
from shared.settings import PlatformSettings
from shared.testing import execute, query, query_value, staff_headers

SECRET = "intake-tests-secret-of-at-least-32-characters"


def intake_settings(database_url: str, kafka: str, namespace: str, rate_limit: str = "1000/minute") -> Settings:
    """Links and staff tokens signed with SECRET, topics in the test's own namespace."""
    platform = PlatformSettings(kafka_bootstrap=kafka, topic_namespace=namespace, auth_jwt_secret=SECRET)
    return Settings(database_url=database_url, link_secret=SECRET, public_rate_limit=rate_limit, platform=platform)


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """Intake's app started (relay, consumer) with a client in front of it."""
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://intake.test") as client,
    ):
        yield client


@dataclass
class Intake:
    client: httpx.AsyncClient
    namespace: str
    database_url: str

    def token(self, role: str, email: str = "eva.coordinator@malmo.se") -> dict[str, str]:
        return staff_headers(SECRET, role, email)

    @property
    def coordinator(self) -> dict[str, str]:
        return self.token("coordinator")

    async def scalar(self, sql: str) -> Any:
        return await query_value(self.database_url, sql)

    async def execute(self, sql: str) -> None:
        await execute(self.database_url, sql)

    async def scalars(self, sql: str) -> list[Any]:
        return [next(iter(row.values())) for row in await query(self.database_url, sql)]

    async def submit(self, **changes: Any) -> dict[str, Any]:
        answer = await self.client.post("/api/v1/initiatives", json=valid_initiative(**changes))
        assert answer.status_code == 201, answer.text
        return answer.json()  # type: ignore[no-any-return]


@pytest.fixture
async def intake(
    service_database: Callable[[str], Awaitable[str]], kafka_bootstrap: str, topic_namespace: str
) -> AsyncIterator[Intake]:
    url = await service_database("intake")
    async with running(intake_settings(url, kafka_bootstrap, topic_namespace)) as client:
        yield Intake(client, topic_namespace, url)
