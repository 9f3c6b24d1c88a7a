"""The fault suite's own Kafka and PostgreSQL, started (and stopped) here; `make test-faults` runs it.

It is not part of `make test`: it is collected only when tests/faults (or a file in it) is named on the
command line. It never touches the shared Kafka (9092) and PostgreSQL (55432): its broker listens on
MEETMALMO_FAULTS_KAFKA_PORT (19092) and its server on MEETMALMO_FAULTS_PG_PORT (55433).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from shared.testing import delete_topics
from tests.faults.infrastructure import OwnKafka, OwnPostgres, port_open

HERE = Path(__file__).resolve().parent
FIGURES: list[tuple[str, dict[str, Any]]] = []  # (scenario, its figures), printed at the end of the run


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Collected only when asked for by path: `pytest tests/faults` (make test-faults), not `pytest`."""
    asked = [Path(arg.split("::")[0]).resolve() for arg in config.args]
    if any(path == HERE or HERE in path.parents for path in asked):
        return None
    return True


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not FIGURES:
        return
    terminalreporter.section("fault suite: figures")
    totals: dict[str, int] = {}
    for scenario, figures in FIGURES:
        terminalreporter.write_line(f"{scenario}: " + ", ".join(f"{k}={v}" for k, v in figures.items()))
        for key, value in figures.items():
            if isinstance(value, int):
                totals[key] = totals.get(key, 0) + value
    terminalreporter.write_line("all scenarios: " + ", ".join(f"{k}={v}" for k, v in totals.items()))


@pytest.fixture(scope="session")
def own_kafka() -> Iterator[OwnKafka]:
    kafka = OwnKafka(int(os.environ.get("MEETMALMO_FAULTS_KAFKA_PORT", "19092")))
    kafka.started_here = not port_open(kafka.port)
    kafka.up()
    kafka.pid()  # a broker the suite may kill: one deploy/kafka/up.sh started from this checkout
    yield kafka
    if kafka.started_here:
        kafka.down()


@pytest.fixture(scope="session")
def own_postgres() -> Iterator[OwnPostgres]:
    postgres = OwnPostgres(
        int(os.environ.get("MEETMALMO_FAULTS_PG_PORT", "55433")),
        os.environ.get("MEETMALMO_FAULTS_PG_DATA", "/tmp/meetmalmo-faults-postgres"),  # noqa: S108 - as deploy/postgres
    )
    postgres.started_here = not port_open(postgres.port)
    if not postgres.started_here and not Path(postgres.data, "postmaster.pid").exists():
        pytest.fail(f"port {postgres.port} is taken by a PostgreSQL the suite did not start in {postgres.data}")
    postgres.up()
    yield postgres
    if postgres.started_here:
        postgres.down()


@pytest.fixture
async def topics_cleaned(own_kafka: OwnKafka) -> AsyncIterator[list[str]]:
    """Namespaces a scenario used; their topics are deleted from the suite's broker afterwards."""
    namespaces: list[str] = []
    yield namespaces
    if namespaces and port_open(own_kafka.port):
        await delete_topics(own_kafka.bootstrap, tuple(namespaces))
