"""Schemathesis over intake's OpenAPI, against the service running under uvicorn: no 5xx, ever."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from services.intake.bootstrap import create_app
from services.intake.settings import Settings
from services.intake.tests.conftest import SECRET
from shared.auth import issue_local_token
from shared.settings import PlatformSettings
from shared.testing import drop_database, free_port, migrated_database, new_namespace, serve_in_thread

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def intake_url(postgres_server: str, kafka_bootstrap: str) -> Iterator[str]:
    database_url = asyncio.run(migrated_database(postgres_server, "intake"))
    settings = Settings(
        database_url=database_url,
        link_secret=SECRET,
        public_rate_limit="100000/minute",
        platform=PlatformSettings(
            kafka_bootstrap=kafka_bootstrap, topic_namespace=new_namespace(), auth_jwt_secret=SECRET
        ),
    )
    with serve_in_thread(create_app(settings), free_port()) as url:
        yield url
    asyncio.run(drop_database(database_url))


@pytest.fixture(scope="module")
def intake_schema(intake_url: str) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{intake_url}/openapi.json")


COORDINATOR = {"Authorization": "Bearer " + issue_local_token(
    PlatformSettings(auth_jwt_secret=SECRET), email="fuzz@malmo.se", roles=["coordinator"]
)}  # fmt: skip


def test_no_generated_request_gets_a_server_error(intake_schema: schemathesis.BaseSchema, intake_url: str) -> None:
    operations = [result.ok() for result in intake_schema.get_all_operations()]
    assert len(operations) >= 12

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def no_server_error(case: schemathesis.Case) -> None:
            response = case.call(base_url=intake_url, headers=COORDINATOR)
            assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.status_code}"

        no_server_error()
