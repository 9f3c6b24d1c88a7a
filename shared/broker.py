"""Kafka wiring: the broker factory, topic creation with the platform's durability settings, subscribers
that ack only after commit (and seek back while what they need is away), and the check that a consumer
group's committed offsets are still on the topic before it starts consuming."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.kafka.subscriber.usecase import LogicSubscriber
from faststream.middlewares import AckPolicy

from shared.contracts import ALL_TOPICS, DLQ_SUFFIX
from shared.inbox import IdempotentConsumer, Record, Redeliver
from shared.jobs import Backoff, retry_until_done
from shared.outbox import Publish
from shared.settings import PlatformSettings

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
    broker: KafkaBroker,
    consumer: IdempotentConsumer[Any],
    topics: Iterable[str],
    namespace: str = "",
    *,
    max_poll_interval_seconds: float = 300.0,
    batch_size: int = 500,
    batch_wait_ms: int = 10,
) -> LogicSubscriber[Any]:
    """Feed the records of `topics` to the consumer in batches (what the partitions have ready, up to
    `batch_size`; a poll that finds nothing waits `batch_wait_ms`, then FastStream sleeps as long: so an idle
    consumer sees a new record up to twice that late); commit the batch's offsets once, after the consumer is
    done with it (MEETMALMO_CONSUMER_BATCH_SIZE, MEETMALMO_CONSUMER_BATCH_WAIT_MS).

    While the consumer waits for its database it hands the records back (`Redeliver`): the subscriber
    commits what came before them, seeks to them and polls again, so the member keeps polling within
    `max.poll.interval.ms` and keeps its partitions; nothing after a record is committed before it."""
    topics = list(topics)
    subscriber = broker.subscriber(
        *[namespace + topic for topic in topics],
        batch=True,
        max_records=batch_size,
        batch_timeout_ms=batch_wait_ms,
        # Namespaced like the topics: test runs (and a `make run` beside them) never share a group's rebalances.
        group_id=namespace + consumer.name,
        ack_policy=AckPolicy.MANUAL,
        # A group that never committed starts from the first record; one that has committed gets "none"
        # at start-up (see `check_committed_offsets`): it stops rather than skip records it never read.
        auto_offset_reset="earliest",
        max_poll_interval_ms=int(max_poll_interval_seconds * 1000),
        title=f"{consumer.name}:{','.join(topics)}",
        decoder=_records_as_they_are,
    )

    async def on_batch(message: KafkaMessage) -> None:
        await consume_batch(consumer, message, namespace)

    subscriber(on_batch)
    return subscriber


async def _records_as_they_are(message: KafkaMessage) -> Any:
    """The batch undecoded: the consumer reads each record's bytes itself (FastStream's own decoder built a
    message object and a json.loads of every record, only to be thrown away)."""
    return message.raw_message


async def consume_batch(consumer: IdempotentConsumer[Any], message: Any, namespace: str = "") -> None:
    """One polled batch (`message.raw_message`, a tuple of records): the consumer applies it, then ONE
    offset commit; on `Redeliver`, commit up to the records it names and seek each partition to them."""
    records = message.raw_message
    assert isinstance(records, tuple)  # a batch subscriber
    batch = [
        Record(record.topic.removeprefix(namespace), record.key, record.value or b"", headers,
               partition=record.partition, offset=record.offset)
        for record, headers in zip(records, message.batch_headers, strict=True)
    ]  # fmt: skip
    try:
        await consumer.handle_batch(batch)
    except Redeliver as redeliver:
        await _rewind(message.consumer, records, redeliver.remaining, namespace)
        return
    await message.ack()


async def _rewind(kafka: Any, records: tuple[Any, ...], remaining: tuple[Record, ...], namespace: str) -> None:
    """Commit each partition up to its first record still to do (all of it where none is left), and seek
    the partitions that have one back to it: the next poll delivers it again."""
    first_left: dict[TopicPartition, int] = {}
    for record in remaining:
        if record.partition is None or record.offset is None:
            continue
        tp = TopicPartition(namespace + record.topic, record.partition)
        first_left[tp] = min(record.offset, first_left.get(tp, record.offset))
    first: dict[TopicPartition, int] = {}
    last: dict[TopicPartition, int] = {}
    for record in records:
        tp = TopicPartition(record.topic, record.partition)
        first[tp] = min(record.offset, first.get(tp, record.offset))
        last[tp] = max(record.offset, last.get(tp, record.offset))
    # Up to the first record left to do, or past the batch where none is left; never before where it began.
    progress = {tp: first_left.get(tp, last[tp] + 1) for tp in first}
    progress = {tp: offset for tp, offset in progress.items() if offset > first[tp]}
    if progress:
        await kafka.commit(progress)
    for tp, offset in first_left.items():
        kafka.seek(tp, offset)


def subscriber_is_consuming(subscriber: LogicSubscriber[Any]) -> bool:
    """The subscriber runs and its consume loop is alive (FastStream restarts a loop that fails)."""
    tasks = getattr(subscriber, "tasks", [])
    return bool(subscriber.running and tasks and not all(task.done() for task in tasks))


@dataclass(frozen=True)
class TopicSettings:
    """How the platform's topics are created (PlatformSettings' topic_* fields)."""

    partitions: int = 3
    replication_factor: int = 1
    min_insync_replicas: int = 1
    retention_ms: int = 7 * 24 * 3600 * 1000
    dead_letter_retention_ms: int = 30 * 24 * 3600 * 1000
    cleanup_policy: str = "delete"

    @classmethod
    def of(cls, platform: PlatformSettings) -> TopicSettings:
        return cls(
            partitions=platform.topic_partitions,
            replication_factor=platform.topic_replication_factor,
            min_insync_replicas=platform.topic_min_insync_replicas,
            retention_ms=int(platform.topic_retention_hours * 3600 * 1000),
            dead_letter_retention_ms=int(platform.dead_letter_retention_hours * 3600 * 1000),
            cleanup_policy=platform.topic_cleanup_policy,
        )

    def configs(self, topic: str) -> dict[str, str]:
        dead_letter = topic.endswith(DLQ_SUFFIX)
        return {
            "min.insync.replicas": str(self.min_insync_replicas),
            "cleanup.policy": "delete" if dead_letter else self.cleanup_policy,
            "retention.ms": str(self.dead_letter_retention_ms if dead_letter else self.retention_ms),
        }


async def ensure_topics(
    bootstrap: str, topics: Iterable[str] = ALL_TOPICS, settings: TopicSettings = TopicSettings()
) -> None:
    """Create the platform's topics (and their dead-letter topics) if they are missing, with the
    partitions, replication factor, min.insync.replicas and retention of `settings`."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15_000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(
                topic,
                num_partitions=settings.partitions,
                replication_factor=settings.replication_factor,
                topic_configs=settings.configs(topic),
            )
            for topic in topics
            if topic not in existing
        ]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):  # another service was quicker
                await admin.create_topics(missing)
    finally:
        await admin.close()


class OffsetsOutOfRetention(RuntimeError):
    """A consumer group's committed offset points at records the topic no longer keeps."""


async def check_committed_offsets(bootstrap: str, group_id: str, topics: Iterable[str]) -> bool:
    """Whether the group has committed an offset on every partition of `topics` (then it must never be
    reset: `auto_offset_reset="none"`). Raises OffsetsOutOfRetention when a committed offset is older
    than the oldest record its partition still keeps: records were deleted before this group read
    them, and starting anyway would skip them silently."""
    topics = set(topics)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15_000)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group_id)
        described = await admin.describe_topics(sorted(topics))
    finally:
        await admin.close()
    partitions = [
        TopicPartition(topic["topic"], partition["partition"])
        for topic in described
        for partition in topic.get("partitions", [])
    ]
    committed = {tp: meta.offset for tp, meta in offsets.items() if meta.offset >= 0 and tp.topic in topics}
    oldest: dict[TopicPartition, int] = {}
    if committed:
        probe = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, request_timeout_ms=15_000)
        await probe.start()
        try:
            oldest = await probe.beginning_offsets(list(committed))
        finally:
            await probe.stop()
    lost = {tp: (offset, oldest[tp]) for tp, offset in committed.items() if offset < oldest[tp]}
    if lost:
        detail = ", ".join(
            f"{tp.topic}[{tp.partition}] committed {offset} < oldest kept {first}"
            for tp, (offset, first) in sorted(lost.items())
        )
        raise OffsetsOutOfRetention(
            f"consumer group {group_id!r} fell out of the topics' retention ({detail}): the records between were "
            "deleted before it read them. It does not start, so as not to skip them silently. Rebuild its state "
            "under a new group name, or accept the loss and move the offsets deliberately "
            "(kafka-consumer-groups.sh --reset-offsets --to-earliest)."
        )
    return bool(partitions) and all(tp in committed for tp in partitions)


async def connect_with_retry(
    broker: KafkaBroker,
    platform: PlatformSettings,
    groups: Mapping[str, tuple[LogicSubscriber[Any], list[str]]] | None = None,
    connected: asyncio.Event | None = None,
    out_of_retention: dict[str, str] | None = None,
) -> None:
    """Create the topics, check each consumer group's committed offsets, start the broker; keep trying
    while Kafka is away.

    A group whose offsets fell out of retention is started with `auto_offset_reset="none"`: its fetch
    fails on the gap (FastStream logs it and tries again) instead of skipping it. Its error is logged
    (`consumer.offsets_out_of_retention`) and put in `out_of_retention` for readiness; the rest of the
    service (its relay, its other groups) runs on."""
    bootstrap = platform.kafka_bootstrap

    async def start() -> None:
        namespace = platform.topic_namespace
        await ensure_topics(bootstrap, [namespace + topic for topic in ALL_TOPICS], TopicSettings.of(platform))
        for group_id, (subscriber, topics) in (groups or {}).items():
            try:
                read_everywhere = await check_committed_offsets(bootstrap, group_id, topics)
            except OffsetsOutOfRetention as exc:
                log.error("consumer.offsets_out_of_retention", group=group_id, error=str(exc))
                if out_of_retention is not None:
                    out_of_retention[group_id] = str(exc)
                read_everywhere = True  # never reset: stop on the gap
            # A group that has read every partition must never be reset; FastStream reads this at start().
            subscriber._connection_args["auto_offset_reset"] = "none" if read_everywhere else "earliest"
        await broker.start()

    await retry_until_done(start, what="broker.connect", backoff=Backoff(0.5, 15.0), after_failure=broker.stop)
    log.info("broker.connected")
    if connected is not None:
        connected.set()
