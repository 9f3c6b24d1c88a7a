"""Schemathesis over notifications's OpenAPI, against the service running under uvicorn: no 5xx, ever."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from services.notifications.bootstrap import create_app
from services.notifications.settings import Settings
from services.notifications.tests.conftest import SECRET
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
def notifications_url(postgres_server: str, kafka_bootstrap: str) -> Iterator[str]:
    database_url = asyncio.run(migrated_database(postgres_server, "notifications"))
    settings = Settings(
        database_url=database_url,
        smtp_port=free_port(),  # nothing listens: nothing is queued either
        coordinator_emails=["fuzz@malmo.se"],
        public_rate_limit="100000/minute",
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


def test_no_generated_request_gets_a_server_error(notifications_url: str) -> None:
    assert assert_no_server_errors(notifications_url, COORDINATOR) >= 7
