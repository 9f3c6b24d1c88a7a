"""Fixtures: the resources service running on a migrated PostgreSQL database and the real broker."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from services.resources.bootstrap import create_app
from services.resources.settings import Settings
from services.resources.tests.factories import PUBLIC_URL, WEB_URL, Clock, Service
from shared.db import create_engine
from shared.settings import PlatformSettings
from shared.testing import drop_database, migrated_database, new_namespace


@pytest.fixture(scope="module")
async def service(postgres_server: str, kafka_bootstrap: str) -> AsyncIterator[Service]:
    """One running service per test module (tests use fresh emails, so they do not meet)."""
    url = await migrated_database(postgres_server, "resources")
    namespace = new_namespace()
    settings = Settings(
        database_url=url,
        public_url=PUBLIC_URL,
        public_rate_limit="1000/minute",
        platform=PlatformSettings(kafka_bootstrap=kafka_bootstrap, topic_namespace=namespace, web_public_url=WEB_URL),
    )
    clock = Clock()
    app = create_app(settings, clock=clock)
    engine = create_engine(url)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=PUBLIC_URL) as client,
    ):
        yield Service(app, client, settings, engine, clock, namespace)
    await engine.dispose()
    await drop_database(url)
