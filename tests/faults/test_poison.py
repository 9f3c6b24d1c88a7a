"""Malformed and unknown-version events in every topic: dead-lettered with their error, the rest goes on."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from tests.faults import proofs
from tests.faults.infrastructure import OwnKafka, OwnPostgres
from tests.faults.platform import Load, Platform
from tests.faults.scenario import SUBMISSIONS, created_at_least, run, the_pool, the_rest_of_the_journey, when

pytestmark = pytest.mark.integration


SUBSCRIBED = {
    topic: sorted(service for service in proofs.CONSUMERS if topic in proofs.handled_types(service))
    for topic in ("meetmalmo.initiatives.v1", "meetmalmo.resources.v1", "meetmalmo.groups.v1",
                  "meetmalmo.notifications.v1")
}  # fmt: skip
# An event type on each topic, and the consumers that apply it: its next major version is unknown to them.
UNKNOWN_VERSION = {
    "meetmalmo.initiatives.v1": "InitiativeAccepted",
    "meetmalmo.resources.v1": "ResourceRegistered",
    "meetmalmo.groups.v1": "GroupFormed",
    "meetmalmo.notifications.v1": "NotificationSent",
}


def _poison(topic: str) -> list[dict[str, Any]]:
    event_type = UNKNOWN_VERSION[topic]
    appliers = sorted(s for s in proofs.CONSUMERS if event_type in proofs.handled_types(s).get(topic, set()))
    unknown_version = {
        "event_id": str(uuid.uuid4()), "event_type": event_type, "schema_version": 99,
        "occurred_at": datetime.now(UTC).isoformat(), "producer": "fault-suite", "correlation_id": "poison",
        "payload": {"from_the_future": True},
    }  # fmt: skip
    return [
        {"topic": topic, "value": b"{this is not json", "consumers": SUBSCRIBED[topic]},
        {"topic": topic, "value": b"\x00\xff\xfe binary garbage", "consumers": SUBSCRIBED[topic]},
        {"topic": topic, "value": json.dumps({"event_type": event_type}).encode(), "consumers": SUBSCRIBED[topic]},
        {"topic": topic, "value": json.dumps(unknown_version).encode(), "consumers": appliers,
         "event_id": unknown_version["event_id"]},
    ]  # fmt: skip


async def test_malformed_and_unknown_version_events_in_every_topic(
    own_kafka: OwnKafka, own_postgres: OwnPostgres, topics_cleaned: list[str]
) -> None:
    """Poison in every topic, in the middle of the load: each consumer that meets it dead-letters it with its
    error and goes on; what came before and after it is applied."""

    async def scenario(platform: Platform, load: Load) -> None:
        await the_pool(load)

        async def poison() -> None:
            await when(created_at_least(load, SUBMISSIONS // 3))
            producer = AIOKafkaProducer(bootstrap_servers=own_kafka.bootstrap, acks="all")
            await producer.start()
            try:
                for topic in SUBSCRIBED:
                    for record in _poison(topic):
                        await producer.send_and_wait(platform.namespace + topic, record["value"], key=b"poison")
                        load.ledger.poison.append(record)
            finally:
                await producer.stop()
            load.ledger.faults.append(f"{len(load.ledger.poison)} poison records in {len(SUBSCRIBED)} topics")

        submitted, _ = await asyncio.gather(load.submit(SUBMISSIONS), poison())
        await the_rest_of_the_journey(load, submitted)

    await run("poison", own_kafka, own_postgres, topics_cleaned, scenario)
