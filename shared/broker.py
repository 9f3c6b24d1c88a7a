"""Kafka wiring: the broker factory, topic creation, and subscribers that ack only after commit."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Iterable, Mapping
from typing import Any

import structlog
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.middlewares import AckPolicy

from shared.contracts import ALL_TOPICS
from shared.inbox import IdempotentConsumer
from shared.jobs import Backoff, retry_until_done
from shared.outbox import Publish

log = structlog.get_logger(__name__)


def create_broker(bootstrap: str, client_id: str) -> KafkaBroker:
    """A broker whose producer is idempotent and waits for all in-sync replicas."""
    return KafkaBroker(
        bootstrap,
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        request_timeout_ms=15_000,
        graceful_timeout=10.0,
        logger=structlog.get_logger("faststream"),
        log_level=logging.DEBUG,  # "Received"/"Processed" per message: DEBUG, not INFO
    )


def publisher(broker: KafkaBroker, namespace: str = "") -> Publish:
    async def publish(topic: str, key: bytes, value: bytes, headers: Mapping[str, str]) -> Awaitable[Any]:
        return await broker.publish(value, namespace + topic, key=key, headers=dict(headers), no_confirm=True)

    return publish


def subscribe(
    broker: KafkaBroker, consumer: IdempotentConsumer[Any], topics: Iterable[str], namespace: str = ""
) -> None:
    """Feed every record of `topics` to the consumer; commit the offset after it is done."""
    topics = list(topics)

    @broker.subscriber(
        *[namespace + topic for topic in topics],
        # Namespaced like the topics: test runs (and a `make run` beside them) never share a group's rebalances.
        group_id=namespace + consumer.name,
        ack_policy=AckPolicy.MANUAL,
        auto_offset_reset="earliest",
        title=f"{consumer.name}:{','.join(topics)}",
    )
    async def on_record(message: KafkaMessage) -> None:
        record = message.raw_message
        assert not isinstance(record, tuple)  # not a batch subscriber
        await consumer.handle_record(record.topic.removeprefix(namespace), record.key, message.body, message.headers)
        await message.ack()


async def ensure_topics(bootstrap: str, topics: Iterable[str] = ALL_TOPICS, partitions: int = 3) -> None:
    """Create the platform's topics (and their dead-letter topics) if they are missing."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15_000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [NewTopic(t, num_partitions=partitions, replication_factor=1) for t in topics if t not in existing]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):  # another service was quicker
                await admin.create_topics(missing)
    finally:
        await admin.close()


async def connect_with_retry(
    broker: KafkaBroker, bootstrap: str, namespace: str = "", connected: asyncio.Event | None = None
) -> None:
    """Start the broker once Kafka is reachable; keep trying while it is not."""

    async def start() -> None:
        await ensure_topics(bootstrap, [namespace + topic for topic in ALL_TOPICS])
        await broker.start()

    await retry_until_done(start, what="broker.connect", backoff=Backoff(0.5, 15.0), after_failure=broker.stop)
    log.info("broker.connected")
    if connected is not None:
        connected.set()
