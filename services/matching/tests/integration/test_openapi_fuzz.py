"""Schemathesis over matching's OpenAPI, against the service running under uvicorn: no 5xx, ever."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from services.matching.bootstrap import create_app
from services.matching.settings import Settings
from services.matching.tests.conftest import SECRET
from shared.auth import issue_local_token
from shared.settings import PlatformSettings
from shared.testing import (
    assert_no_server_errors,
    drop_database,
    free_port,
    migrated_database,
    new_namespace,
    serve_in_thread,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def matching_url(postgres_server: str, kafka_bootstrap: str) -> Iterator[str]:
    database_url = asyncio.run(migrated_database(postgres_server, "matching"))
    settings = Settings(
        database_url=database_url,
        link_secret=SECRET,
        public_rate_limit="100000/minute",
        sweep_seconds=3600,
        platform=PlatformSettings(
            kafka_bootstrap=kafka_bootstrap, topic_namespace=new_namespace(), auth_jwt_secret=SECRET
        ),
    )
    with serve_in_thread(create_app(settings), free_port()) as url:
        yield url
    asyncio.run(drop_database(database_url))


COORDINATOR = {"Authorization": "Bearer " + issue_local_token(
    PlatformSettings(auth_jwt_secret=SECRET), email="fuzz@malmo.se", roles=["coordinator"]
)}  # fmt: skip


def test_no_generated_request_gets_a_server_error(matching_url: str) -> None:
    assert assert_no_server_errors(matching_url, COORDINATOR) >= 12
