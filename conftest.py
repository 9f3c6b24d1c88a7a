"""Fixtures on the real parts: Kafka at MEETMALMO_KAFKA_BOOTSTRAP, PostgreSQL at MEETMALMO_TEST_POSTGRES_URL.

`make test` starts both (deploy/kafka/up.sh, deploy/postgres/up.sh) before pytest runs.
"""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from shared.testing import delete_topics, drop_database, migrated_database, namespaces_used, new_namespace

# The tests run the platform as `make run` does: local mode, development defaults allowed. Tests of
# production mode say so explicitly (MEETMALMO_ENVIRONMENT=production or environment="production").
os.environ.setdefault("MEETMALMO_ENVIRONMENT", "local")

KAFKA_BOOTSTRAP = os.environ.get("MEETMALMO_KAFKA_BOOTSTRAP", "127.0.0.1:9092")
POSTGRES_URL = os.environ.get("MEETMALMO_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:55432")


def _reachable(host_port: str) -> bool:
    host, _, port = host_port.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    if not _reachable(KAFKA_BOOTSTRAP.split(",")[0]):
        pytest.fail(f"no Kafka broker at {KAFKA_BOOTSTRAP}: run `make kafka-up` (make test does)")
    return KAFKA_BOOTSTRAP


@pytest.fixture(scope="session")
def postgres_server() -> str:
    host_port = POSTGRES_URL.rsplit("@", 1)[-1].split("/")[0]
    if not _reachable(host_port):
        pytest.fail(f"no PostgreSQL at {POSTGRES_URL}: run `make postgres-up` (make test does)")
    return POSTGRES_URL


@pytest.fixture
async def topic_namespace(kafka_bootstrap: str) -> AsyncIterator[str]:
    """A fresh topic prefix, so that each test reads only its own events; its topics go afterwards."""
    namespace = new_namespace()
    yield namespace
    await delete_topics(kafka_bootstrap, (namespace,))


@pytest.fixture(scope="session", autouse=True)
async def no_test_topics_left_behind() -> AsyncIterator[None]:
    """Delete the topics of every namespace this run used (module fixtures make their own).

    Only this run's: another test run on the same broker keeps its topics.
    """
    yield
    if namespaces_used() and _reachable(KAFKA_BOOTSTRAP.split(",")[0]):
        await delete_topics(KAFKA_BOOTSTRAP, namespaces_used())


@pytest.fixture
async def service_database(postgres_server: str) -> AsyncIterator[Callable[[str], Awaitable[str]]]:
    """Factory: a migrated, throw-away PostgreSQL database for the named service."""
    created: list[str] = []

    async def make(service: str) -> str:
        url = await migrated_database(postgres_server, service)
        created.append(url)
        return url

    yield make
    for url in created:
        await drop_database(url)
