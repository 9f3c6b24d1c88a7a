"""Schemathesis over the service's OpenAPI document: whatever it sends, the service never answers 5xx."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.python.asgi import get_client, shutdown_lifespans

from services.resources.bootstrap import create_app
from services.resources.links import PrivateLinks
from services.resources.settings import Settings
from services.resources.tests.factories import profile
from shared.auth import issue_local_token
from shared.settings import PlatformSettings
from shared.testing import drop_database, migrated_database, new_namespace

pytestmark = pytest.mark.integration


@pytest.fixture
async def database_url(postgres_server: str) -> AsyncIterator[str]:
    url = await migrated_database(postgres_server, "resources")
    yield url
    await drop_database(url)


def test_generated_requests_never_get_a_server_error(database_url: str, kafka_bootstrap: str) -> None:
    platform = PlatformSettings(kafka_bootstrap=kafka_bootstrap, topic_namespace=new_namespace())
    service_settings = Settings(database_url=database_url, public_rate_limit="100000/minute", platform=platform)
    app = create_app(service_settings)
    links = PrivateLinks(str(platform.web_public_url), service_settings.link_secret)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)  # starts the app in schemathesis' own loop
    coordinator = {
        "Authorization": f"Bearer {issue_local_token(platform, email='eva@malmo.se', roles=['coordinator'])}"
    }
    with get_client(app) as client:
        deadline = time.monotonic() + 20
        while client.get("/readyz").status_code != 200:  # the broker connects in the background
            assert time.monotonic() < deadline, "the service did not get ready"
            time.sleep(0.1)
        # A real person, so that the private-link endpoints get past the 404.
        created = client.post("/api/v1/resources/direct", json=profile(), headers=coordinator).json()
    real = {"resource_id": created["id"], "token": links.profile.token(uuid.UUID(created["id"]))}
    cases = st.one_of(
        schema.as_strategy(),  # valid requests, without a token
        schema.as_strategy(headers=coordinator),  # valid requests, as a coordinator
        schema.as_strategy(headers=coordinator, path_parameters=real),  # ... about a person who exists
        schema.as_strategy(generation_mode=schemathesis.GenerationMode.NEGATIVE, headers=coordinator),
    )

    @settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(case=cases)
    def no_server_error(case: schemathesis.Case) -> None:
        response = case.call()
        if case.path == "/readyz" and response.status_code == 503:
            return  # not ready is an answer, not an error (the broker may be slow to respond for a moment)
        assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.status_code}"

    try:
        no_server_error()
    finally:
        shutdown_lifespans()
