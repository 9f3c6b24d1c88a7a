"""Registrations nobody confirmed do not keep their personal data forever."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest

from services.resources.bootstrap import create_app
from services.resources.settings import Settings
from services.resources.tests.factories import PUBLIC_URL, WEB_URL, Clock, Service, token_of
from shared.db import create_engine
from shared.settings import PlatformSettings
from shared.testing import drop_database, eventually, migrated_database

pytestmark = pytest.mark.integration


async def test_a_registration_never_confirmed_is_erased_a_week_after_its_link_expired(
    postgres_server: str, kafka_bootstrap: str, topic_namespace: str
) -> None:
    url = await migrated_database(postgres_server, "resources")
    settings = Settings(
        database_url=url,
        public_url=PUBLIC_URL,
        public_rate_limit="1000/minute",
        unconfirmed_retention_days=7,
        purge_interval_seconds=0.1,
        platform=PlatformSettings(
            kafka_bootstrap=kafka_bootstrap, topic_namespace=topic_namespace, web_public_url=WEB_URL
        ),
    )
    clock = Clock()
    app = create_app(settings, clock=clock)
    engine = create_engine(url)
    try:
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=PUBLIC_URL) as client,
        ):
            service = Service(app, client, settings, engine, clock, topic_namespace)
            forgotten, _ = await service.register()
            kept, _ = await service.register()
            await client.post(f"/api/v1/confirmations/{token_of(await service.confirm_url(kept), 'confirm')}")

            clock.offset = timedelta(days=7 + 6)  # link expired six days ago: kept a little longer
            await asyncio.sleep(0.5)  # several purge rounds (every 0.1 s) find nothing to do yet
            assert await service.status_of(forgotten) == "pending_confirmation"

            clock.offset = timedelta(days=7 + 7, minutes=1)
            await eventually(lambda: _gone(service, forgotten))
            assert await service.status_of(kept) == "active"
            erased = await service.events("ResourceErased", forgotten)
            assert [e["payload"] for e in erased] == [{"resource_id": forgotten}]
            assert await service.events("ResourceConfirmationRequested", forgotten) == []  # its email is gone too
    finally:
        await engine.dispose()
        await drop_database(url)


async def _gone(service: Service, resource_id: str) -> bool:
    answer = await service.client.get(f"/api/v1/resources/{resource_id}", headers=service.coordinator)
    return answer.status_code == 404
