"""A consumer whose database goes away: it waits without limit, keeps its group membership, and applies
the event when the database is back; nothing reaches the dead-letter topic. On a PostgreSQL of this
test's own (deploy/postgres/up.sh on a free port), so stopping it disturbs nobody else."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from shared.contracts import Topic, dead_letter_topic
from shared.dlq import partitions_of, records_on
from shared.service import Infrastructure
from shared.settings import PROJECT_ROOT, PlatformSettings, ServiceSettings
from shared.testing import create_database, drop_database, eventually, restartable_port
from tests.json_logs import json_logs
from tests.test_messaging_through_kafka import ProbeRecorded, apply_probe, bus, count, effects, metadata, record_probe

pytestmark = pytest.mark.integration

OUTAGE_SECONDS = 30


def _postgres(script: str, port: int, data: Path) -> None:
    subprocess.run(
        ["bash", f"deploy/postgres/{script}.sh"],
        check=True,
        cwd=PROJECT_ROOT,
        env={**os.environ, "MEETMALMO_PG_PORT": str(port), "MEETMALMO_PG_DATA": str(data)},
        stdout=subprocess.DEVNULL,
        timeout=120,
    )


@pytest.fixture
def private_postgres() -> Iterator[tuple[str, Any]]:
    """A PostgreSQL of this test's own: (server URL, stop/start controls)."""
    port = restartable_port()
    # Under /tmp as deploy/postgres/up.sh asks (the postgres OS user must reach it); the port makes it unique.
    data = Path(f"/tmp/meetmalmo-relay-pg-{port}")  # noqa: S108
    _postgres("up", port, data)

    class Controls:
        @staticmethod
        async def stop() -> None:
            await asyncio.to_thread(_postgres, "down", port, data)

        @staticmethod
        async def start() -> None:
            await asyncio.to_thread(_postgres, "up", port, data)

    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:{port}", Controls
    finally:
        _postgres("down", port, data)
        for leftover in (data, Path(f"{data}-socket")):
            shutil.rmtree(leftover, ignore_errors=True)
        for suffix in (".log", ".lock", ".initdb.log", ".pg_ctl.log"):
            Path(f"{data}{suffix}").unlink(missing_ok=True)


@pytest.fixture
async def producer_database(postgres_server: str) -> AsyncIterator[str]:
    url = await create_database(postgres_server, "kit_producer")
    yield url
    await drop_database(url)


def service(name: str, url: str, bootstrap: str, namespace: str, **platform: Any) -> Infrastructure:
    settings = ServiceSettings(
        service_name=name,
        database_url=url,
        platform=PlatformSettings(kafka_bootstrap=bootstrap, topic_namespace=namespace, **platform),
    )
    return Infrastructure.build(settings, metadata)


async def create_tables(infra: Infrastructure) -> None:
    async with infra.engine.begin() as connection:
        await connection.run_sync(metadata.create_all)


async def group_members(bootstrap: str, group_id: str) -> list[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        [response] = await admin.describe_consumer_groups([group_id])
    finally:
        await admin.close()
    [group] = response.to_object()["groups"]
    return sorted(member["member_id"] for member in group["members"])


async def test_a_consumer_whose_database_is_away_for_30_seconds_applies_the_event_when_it_returns(
    private_postgres: tuple[str, Any], producer_database: str, kafka_bootstrap: str, topic_namespace: str
) -> None:
    server, postgres = private_postgres
    producer = service("kit-producer", producer_database, kafka_bootstrap, topic_namespace)
    # A poll interval far shorter than the outage: were the member not polling meanwhile, it would be dropped.
    consumer = service(
        "kit-consumer", await create_database(server, "kit_consumer"), kafka_bootstrap, topic_namespace,
        consumer_max_attempts=2, consumer_backoff_seconds=0.01, consumer_outage_backoff_max_seconds=1.0,
        consumer_hold_seconds=2.0, consumer_max_poll_interval_seconds=8.0,
    )  # fmt: skip
    consumer.consume("kit-consumer", {Topic.NOTIFICATIONS: {ProbeRecorded: apply_probe}}, bus(consumer))
    await create_tables(producer)
    await create_tables(consumer)
    group = topic_namespace + "kit-consumer"
    probe = uuid.uuid4()

    with json_logs() as lines:
        async with producer.running(), consumer.running():
            await record_probe(producer, probe, 1)
            assert await eventually(lambda: count(consumer, effects, effects.c.value == 1), timeout=60) == 1
            members = await eventually(lambda: group_members(kafka_bootstrap, group))

            await postgres.stop()
            await record_probe(producer, probe, 2)  # the producer's database is up: the event goes out at once
            await asyncio.sleep(OUTAGE_SECONDS)
            assert await group_members(kafka_bootstrap, group) == members  # still the same member
            await postgres.start()

            assert await eventually(lambda: count(consumer, effects, effects.c.value == 2), timeout=60) == 1
            assert await group_members(kafka_bootstrap, group) == members
        logs = lines()
    await consumer.engine.dispose()

    dead_letters = dead_letter_topic(topic_namespace + Topic.NOTIFICATIONS)
    assert await partitions_of(kafka_bootstrap, dead_letters)  # the topic is there ...
    assert await records_on(kafka_bootstrap, dead_letters) == 0  # ... and empty
    events = [entry["event"] for entry in logs]
    assert "consumer.dead_lettered" not in events
    # The outage is reported as it would be read: once when it starts, once when it ends.
    assert events.count("consumer.outage_started") == 1 and events.count("consumer.outage_ended") == 1
    assert events.count("consumer.retry") == 0  # no attempt of the event was spent on the outage
