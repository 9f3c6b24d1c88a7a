"""The dead-letter topics, for operators: list what is there, show one, redrive what is safe to redrive.

A dead letter is a record a consumer could not apply for a reason that does not pass by waiting
(validation, a domain rule, a bug; outages never dead-letter). Once the cause is fixed, `redrive`
publishes it again to its original topic, with its own event id, so every consumer group sees it
again and each one that already applied it ignores it (its processed mark).

The safe rule, per dead letter (in the order they were dead-lettered, which is per-key order):
- skipped when a **later event of the same key** reached the original topic's partition after it and
  is not itself a dead letter of that consumer: that later event was applied, so applying this one
  now would apply the two out of order (`--force` redrives it anyway, for an operator who checked);
- skipped when it is **older than the processed marks are kept** (MEETMALMO_PROCESSED_EVENTS_RETENTION_DAYS):
  a consumer that applied it may have forgotten so, and would apply it twice (`--force` too);
- skipped when the dead letter does not say where it came from (a record from before the
  `dlq-original-offset` header), unless `--force`;
- otherwise republished, one at a time and acknowledged, so per-key order holds.
Redrive reads each dead-letter topic as the consumer group `<namespace>meetmalmo.dlq-redrive` and
commits what it handled (redriven or skipped): running it again does not redrive the same letters.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import OffsetAndMetadata

from shared.contracts import ALL_TOPICS, DLQ_SUFFIX

REDRIVE_GROUP = "meetmalmo.dlq-redrive"
DLQ_HEADERS = ("dlq-original-topic", "dlq-consumer", "dlq-error-type", "dlq-error", "dlq-failed-at",
               "dlq-original-partition", "dlq-original-offset")  # fmt: skip


@dataclass(frozen=True)
class DeadLetter:
    topic: str  # the dead-letter topic (with its namespace)
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: dict[str, str]

    @property
    def original_topic(self) -> str:
        return self.headers.get("dlq-original-topic", self.topic.removesuffix(DLQ_SUFFIX))

    @property
    def consumer(self) -> str:
        return self.headers.get("dlq-consumer", "?")

    @property
    def error(self) -> str:
        return f"{self.headers.get('dlq-error-type', '?')}: {self.headers.get('dlq-error', '')}"

    @property
    def failed_at(self) -> datetime | None:
        try:
            return datetime.fromisoformat(self.headers["dlq-failed-at"])
        except (KeyError, ValueError):
            return None

    @property
    def position(self) -> str:
        return f"{self.partition}:{self.offset}"

    def envelope(self) -> dict[str, Any] | None:
        try:
            parsed = json.loads(self.value)
        except ValueError:
            return None
        return parsed if isinstance(parsed, dict) else None

    @property
    def event_id(self) -> str | None:
        envelope = self.envelope()
        return str(envelope.get("event_id")) if envelope else None

    @property
    def event_type(self) -> str | None:
        envelope = self.envelope()
        return str(envelope.get("event_type")) if envelope else None

    def summary(self) -> dict[str, Any]:
        """What `list` prints: where it is and why, never the payload (it may hold personal data)."""
        return {
            "topic": self.topic,
            "position": self.position,
            "original_topic": self.original_topic,
            "consumer": self.consumer,
            "event_type": self.event_type,
            "event_id": self.event_id,
            "key": (self.key or b"").decode(errors="replace"),
            "error": self.error,
            "failed_at": self.headers.get("dlq-failed-at"),
        }


@dataclass
class RedriveReport:
    redriven: list[DeadLetter] = field(default_factory=list)
    skipped: list[tuple[DeadLetter, str]] = field(default_factory=list)


def dead_letter_topics(namespace: str = "", topics: Iterable[str] | None = None) -> list[str]:
    chosen = topics or [topic for topic in ALL_TOPICS if topic.endswith(DLQ_SUFFIX)]
    return [namespace + (topic if topic.endswith(DLQ_SUFFIX) else topic + DLQ_SUFFIX) for topic in chosen]


async def partitions_of(bootstrap: str, topic: str) -> list[TopicPartition]:
    """The topic's partitions ([] when it does not exist)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15_000)
    await admin.start()
    try:
        [described] = await admin.describe_topics([topic])
    finally:
        await admin.close()
    # A topic just created may still report LEADER_NOT_AVAILABLE; its partitions are listed all the same.
    return sorted(TopicPartition(topic, p["partition"]) for p in described.get("partitions", []))


async def records_on(bootstrap: str, topic: str) -> int:
    """How many records the topic holds now."""
    return len(await _read(bootstrap, topic))


def _headers(record: ConsumerRecord[Any, Any]) -> dict[str, str]:
    return {name: value.decode(errors="replace") for name, value in (record.headers or ())}


async def _read(
    bootstrap: str, topic: str, *, start: dict[int, int] | None = None, group_id: str | None = None
) -> list[ConsumerRecord[Any, Any]]:
    """Every record of `topic` from `start` (per partition; else the beginning) to its end as of now."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=group_id, request_timeout_ms=15_000
    )
    partitions = await partitions_of(bootstrap, topic)
    if not partitions:
        return []
    await consumer.start()
    try:
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        beginnings = await consumer.beginning_offsets(partitions)
        records: list[ConsumerRecord[Any, Any]] = []
        for tp in partitions:
            first = max(beginnings[tp], (start or {}).get(tp.partition, 0))
            if first >= ends[tp]:
                continue
            consumer.seek(tp, first)
            while (await consumer.position(tp)) < ends[tp]:
                batch = await consumer.getmany(tp, timeout_ms=1000)
                records.extend(r for r in batch.get(tp, []) if r.offset < ends[tp])
        return sorted(records, key=lambda r: (r.partition, r.offset))
    finally:
        await consumer.stop()


async def list_dead_letters(
    bootstrap: str, namespace: str = "", *, topics: Iterable[str] | None = None, consumer: str | None = None
) -> list[DeadLetter]:
    letters = []
    for topic in dead_letter_topics(namespace, topics):
        for record in await _read(bootstrap, topic):
            letter = DeadLetter(topic, record.partition, record.offset, record.key, record.value or b"",
                                _headers(record))  # fmt: skip
            if consumer is None or letter.consumer == consumer:
                letters.append(letter)
    return letters


async def _committed(bootstrap: str, group_id: str, topic: str) -> dict[int, int]:
    partitions = await partitions_of(bootstrap, topic)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group_id, enable_auto_commit=False)
    await consumer.start()
    try:
        offsets: dict[int, int] = {}
        if not partitions:
            return offsets
        consumer.assign(partitions)
        for tp in partitions:
            committed = await consumer.committed(tp)
            if committed is not None:
                offsets[tp.partition] = committed
        return offsets
    finally:
        await consumer.stop()


async def commit_offsets(bootstrap: str, group_id: str, offsets: dict[TopicPartition, int]) -> None:
    """Commit `offsets` as consumer group `group_id` (the redrive's progress; tests set a group's position)."""
    if not offsets:
        return
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group_id, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(list(offsets))
        await consumer.commit({tp: OffsetAndMetadata(offset, "") for tp, offset in offsets.items()})
    finally:
        await consumer.stop()


def _why_not(
    letter: DeadLetter,
    later_keys: dict[tuple[int, bytes | None], list[tuple[int, str | None]]],
    dead_ids: set[tuple[str, str | None]],
    keep_marks: timedelta,
    now: datetime,
) -> str | None:
    """Why the letter must not be redriven (None: it is safe), following the rule in the module's docstring."""
    if letter.failed_at is not None and now - letter.failed_at > keep_marks:
        return "older than the consumers' processed marks are kept: it could be applied twice"
    try:
        partition = int(letter.headers["dlq-original-partition"])
        offset = int(letter.headers["dlq-original-offset"])
    except (KeyError, ValueError):
        return "does not say where on its original topic it was (no dlq-original-offset)"
    later = [
        event_id
        for later_offset, event_id in later_keys.get((partition, letter.key), [])
        if later_offset > offset and (letter.consumer, event_id) not in dead_ids
    ]
    if later:
        return f"{len(later)} later event(s) of its key were applied after it; redriving would apply it out of order"
    return None


async def redrive(
    bootstrap: str,
    namespace: str = "",
    *,
    topics: Iterable[str] | None = None,
    consumer: str | None = None,
    keep_marks: timedelta = timedelta(days=14),
    force: bool = False,
    dry_run: bool = False,
) -> RedriveReport:
    """Republish what is safe to redrive (see the module's docstring) and commit what was handled."""
    report = RedriveReport()
    group = namespace + REDRIVE_GROUP
    now = datetime.now(UTC)
    for dlq_topic in dead_letter_topics(namespace, topics):
        start = await _committed(bootstrap, group, dlq_topic)
        letters = [
            DeadLetter(dlq_topic, r.partition, r.offset, r.key, r.value or b"", _headers(r))
            for r in await _read(bootstrap, dlq_topic, start=start)
        ]
        if not letters:
            continue
        every_letter = await list_dead_letters(bootstrap, namespace, topics=[dlq_topic])
        dead_ids = {(letter.consumer, letter.event_id) for letter in every_letter}
        original = namespace + letters[0].original_topic
        later_keys: dict[tuple[int, bytes | None], list[tuple[int, str | None]]] = {}
        for record in await _read(bootstrap, original):
            try:
                event_id = str(json.loads(record.value or b"{}").get("event_id"))
            except (ValueError, AttributeError):
                event_id = None
            later_keys.setdefault((record.partition, record.key), []).append((record.offset, event_id))
        handled: dict[TopicPartition, int] = {}
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
        await producer.start()
        try:
            for letter in letters:  # in (partition, offset) order: a key's letters share one partition
                if consumer is not None and letter.consumer != consumer:
                    continue  # another consumer's letter: left for its own redrive, so not committed past
                reason = None if force else _why_not(letter, later_keys, dead_ids, keep_marks, now)
                if reason is not None:
                    report.skipped.append((letter, reason))
                else:
                    if not dry_run:
                        headers = [(n, v.encode()) for n, v in letter.headers.items() if n not in DLQ_HEADERS]
                        headers.append(("dlq-redriven-from", f"{letter.topic}:{letter.position}".encode()))
                        await producer.send_and_wait(original, letter.value, key=letter.key, headers=headers)
                    report.redriven.append(letter)
                handled[TopicPartition(dlq_topic, letter.partition)] = letter.offset + 1
        finally:
            await producer.stop()
        if not dry_run:
            # With a consumer filter, commit only past the letters handled before another consumer's letter.
            await commit_offsets(
                bootstrap, group, handled if consumer is None else _contiguous(letters, handled, consumer)
            )
    return report


def _contiguous(
    letters: list[DeadLetter], handled: dict[TopicPartition, int], consumer: str
) -> dict[TopicPartition, int]:
    """Per partition, the offset after the last letter of a run of `consumer`'s letters from the start."""
    offsets: dict[TopicPartition, int] = {}
    blocked: set[int] = set()
    for letter in letters:
        if letter.partition in blocked:
            continue
        if letter.consumer != consumer:
            blocked.add(letter.partition)
            continue
        offsets[TopicPartition(letter.topic, letter.partition)] = letter.offset + 1
    return {tp: offset for tp, offset in offsets.items() if tp in handled}
