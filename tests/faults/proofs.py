"""What must hold after any fault, proved from the databases, the topics, the mailbox and the logs."""

from __future__ import annotations

import asyncio
import importlib
import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from shared.contracts import DLQ_SUFFIX, Topic
from shared.testing import query, rows_mentioning
from tests.faults.infrastructure import SERVICES
from tests.faults.platform import SETTLE, Ledger, Platform

# The consumer group each consuming service runs (its processed_events.consumer); what it applies is read
# from the service's consumers.py.
CONSUMERS = {"intake": "intake", "matching": "matching", "notifications": "notifications"}


def handled_types(service: str) -> dict[str, set[str]]:
    """topic -> the event types the service's consumer applies (read from its consumers.py)."""
    subscriptions = importlib.import_module(f"services.{service}.consumers").SUBSCRIPTIONS
    return {str(topic): {cls.event_type() for cls in by_type} for topic, by_type in subscriptions.items()}


@dataclass(frozen=True)
class Seen:
    """A record read back from a topic."""

    topic: str  # without the namespace
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: dict[str, str]

    def envelope(self) -> dict[str, Any] | None:
        try:
            found = json.loads(self.value)
        except ValueError:
            return None
        return found if isinstance(found, dict) else None


async def partitions_of(admin: AIOKafkaAdminClient, topics: list[str]) -> list[TopicPartition]:
    if not topics:
        return []
    described = await admin.describe_topics(topics)
    return [TopicPartition(d["topic"], p["partition"]) for d in described for p in d["partitions"]]


async def read_every_topic(platform: Platform) -> list[Seen]:
    """Every record of the scenario's topics (its namespace), from the beginning to the end offsets of now."""
    bootstrap, prefix = platform.kafka.bootstrap, platform.namespace
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=30_000)
    await admin.start()
    try:
        partitions = await partitions_of(admin, [t for t in await admin.list_topics() if t.startswith(prefix)])
    finally:
        await admin.close()
    seen: list[Seen] = []
    if not partitions:
        return seen
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        async with asyncio.timeout(60):
            while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
                batch = await consumer.getmany(timeout_ms=500)
                for tp, messages in batch.items():
                    seen += [
                        Seen(tp.topic.removeprefix(prefix), tp.partition, m.offset, m.key, m.value or b"",
                             {k: v.decode() for k, v in (m.headers or ())})
                        for m in messages if m.offset < ends[tp]
                    ]  # fmt: skip
    finally:
        await _stop(consumer)
    return seen


async def consumer_lag(platform: Platform) -> dict[str, int]:
    """Per consumer group of the scenario: records on its topics it has not committed yet. Each service's group
    is checked on every topic it subscribes to (also partitions it never committed on); any other group of the
    namespace on the partitions it committed on."""
    bootstrap, prefix = platform.kafka.bootstrap, platform.namespace
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=30_000)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    await admin.start()
    await consumer.start()
    lag: dict[str, int] = {}
    try:
        groups = {prefix + group: list(handled_types(service)) for service, group in CONSUMERS.items()}
        for listed in await admin.list_consumer_groups():
            name = listed[0] if isinstance(listed, tuple) else str(listed)
            if name.startswith(prefix):
                groups.setdefault(name, [])
        for group, topics in groups.items():
            committed = await admin.list_consumer_group_offsets(group)
            partitions = set(await partitions_of(admin, [prefix + topic for topic in topics])) | set(committed)
            ends = await consumer.end_offsets(list(partitions)) if partitions else {}
            lag[group.removeprefix(prefix)] = sum(
                end - (committed[tp].offset if tp in committed and committed[tp].offset >= 0 else 0)
                for tp, end in ends.items()
            )
    finally:
        await _stop(consumer)
        await admin.close()
    return lag


async def _stop(consumer: AIOKafkaConsumer) -> None:
    # aiokafka 0.14: a consumer without a group stopped before its first loop round raises CancelledError
    await asyncio.sleep(0.1)
    await consumer.stop()


async def _unpublished(platform: Platform, quarantined: bool = False) -> dict[str, int]:
    """Outbox rows not published, per service: waiting for the relay, or (`quarantined`) given up on."""
    where = "quarantined_at IS NOT NULL" if quarantined else "quarantined_at IS NULL"
    sql = f"SELECT count(*) AS n FROM outbox WHERE published_at IS NULL AND {where}"  # noqa: S608 - constant
    return {service: int((await query(url, sql))[0]["n"]) for service, url in platform.databases.items()}


async def _deliveries_in_flight(platform: Platform) -> int:
    rows = await query(
        platform.databases["notifications"], "SELECT count(*) AS n FROM deliveries WHERE status IN ('queued')"
    )
    return int(rows[0]["n"])


async def settled(platform: Platform, timeout: float = SETTLE) -> None:
    """Wait until every outbox is published, every consumer caught up and no email is waiting to go."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last: tuple[Any, ...] = ()
    while loop.time() < deadline:
        try:
            last = (await _unpublished(platform), await consumer_lag(platform), await _deliveries_in_flight(platform))
        except Exception as exc:  # a database or the broker still coming back
            last = (repr(exc),)
        else:
            unpublished, lag, in_flight = last
            if not any(unpublished.values()) and not any(lag.values()) and in_flight == 0:
                return
        await asyncio.sleep(0.5)
    raise AssertionError(f"the platform did not settle within {timeout}s: unpublished, lag, emails queued = {last}")


def _events(records: list[Seen], topic: str) -> dict[str, list[dict[str, Any]]]:
    """event_id -> its envelopes on `topic` (more than one: the relay published it again)."""
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        envelope = record.envelope() if record.topic == topic else None
        if envelope and "event_id" in envelope:
            found[str(envelope["event_id"])].append(envelope)
    return found


# --- the proofs ---------------------------------------------------------------------------------------


async def every_201_has_exactly_one_initiative_and_its_events(
    platform: Platform, ledger: Ledger, records: list[Seen]
) -> dict[str, int]:
    created = ledger.created
    assert len(created) == len(ledger.submissions), "some submissions were never answered 201"
    rows = await query(platform.databases["intake"], "SELECT id, title, status FROM initiatives")
    by_title = Counter(row["title"] for row in rows)
    doubled = {title: n for title, n in by_title.items() if n > 1}
    assert not doubled, f"initiatives stored twice: {doubled}"
    stored = {str(row["id"]): row["title"] for row in rows}
    missing = [s.reference for s in created if stored.get(str(s.id)) != s.title]
    assert not missing, f"answered 201 but not stored as answered: {missing}"
    assert len(rows) == len(created), f"{len(rows)} initiatives stored for {len(created)} answered 201"

    events = _events(records, Topic.INITIATIVES.value)
    by_kind: dict[tuple[str, str], set[str]] = defaultdict(set)
    for event_id, envelopes in events.items():
        envelope = envelopes[0]
        by_kind[(envelope["event_type"], str(envelope["payload"].get("initiative_id")))].add(event_id)
    for submission in created:
        submitted = by_kind[("InitiativeSubmitted", str(submission.id))]
        assert len(submitted) == 1, f"{submission.reference}: {len(submitted)} InitiativeSubmitted events"
    for initiative_id in ledger.accepted:
        accepted = by_kind[("InitiativeAccepted", initiative_id)]
        assert len(accepted) == 1, f"{initiative_id}: {len(accepted)} InitiativeAccepted events"
    republished = sum(len(envelopes) - 1 for envelopes in events.values())
    return {"initiatives": len(rows), "republished_initiative_records": republished}


async def every_expected_email_arrived_exactly_once(platform: Platform, ledger: Ledger) -> dict[str, int]:
    """Per address, the emails the ledger implies, each once; none twice (same To and Subject); the delivery
    log agrees with the mailbox. An email whose outcome could not be known (no reply after DATA) is counted
    apart: it reached the server once and must never have been sent again."""
    received = platform.mailbox.received
    expected = ledger.expected_emails()
    got = Counter(str(message["To"]) for _, message in received)
    pairs = Counter((str(m["To"]), " ".join(str(m["Subject"]).split())) for _, m in received)
    duplicates = sum(n - 1 for n in pairs.values() if n > 1)
    deliveries = await query(
        platform.databases["notifications"], "SELECT status, message_id, recipient, attempts FROM deliveries"
    )
    statuses = Counter(str(d["status"]) for d in deliveries)
    # An email whose outcome is unknown may or may not have reached the server (the process or the connection
    # died around DATA): it is allowed to be missing, never to be there twice.
    unknown = Counter(str(d["recipient"]) for d in deliveries if d["status"] == "unknown")
    lost = sum(max(0, n - got[address] - unknown[address]) for address, n in expected.items())
    unexpected = {a: got[a] - expected[a] for a in got if got[a] > expected[a]}
    figures = {
        "emails_expected": sum(expected.values()),
        "emails_received": len(received),
        "emails_duplicated": duplicates,
        "emails_lost": lost,
        "emails_outcome_unknown": statuses.get("unknown", 0),
        "emails_held_after_data": len(platform.mailbox.held),
    }
    twice = [pair for pair, n in pairs.items() if n > 1][:5]
    assert duplicates == 0, f"{duplicates} emails arrived more than once, e.g. {twice}; {figures}"
    missing = {a: (n, got[a]) for a, n in expected.items() if got[a] + unknown[a] < n}
    assert lost == 0, f"{lost} emails never arrived (address: expected, got): {dict(list(missing.items())[:8])}"
    assert not unexpected, f"emails nobody expected: {unexpected}"
    assert all(rcpts == [str(m["To"])] for rcpts, m in received)
    assert len({m["Message-ID"] for _, m in received}) == len(received)
    final = {"sent", "unknown", "cancelled"}
    assert set(statuses) <= final, f"deliveries not sent: {dict(statuses)}"
    mailbox_ids = {m["Message-ID"] for _, m in received}
    sent_ids = {d["message_id"] for d in deliveries if d["status"] == "sent"}
    assert sent_ids <= mailbox_ids, f"{len(sent_ids - mailbox_ids)} deliveries logged sent never reached the server"
    return figures


async def nothing_is_half_stored(platform: Platform, ledger: Ledger, records: list[Seen]) -> dict[str, int]:
    """Every outbox row is published; every event a consumer applies is processed by it (or, poison only, in
    its dead-letter topic); what intake and matching say of each initiative agrees."""
    unpublished = await _unpublished(platform)
    assert not any(unpublished.values()), f"outbox rows never published: {unpublished}"
    quarantined = await _unpublished(platform, quarantined=True)
    assert not any(quarantined.values()), f"outbox rows quarantined (never publishable): {quarantined}"
    poison_ids = {str(p["event_id"]) for p in ledger.poison if p.get("event_id")}
    events = 0
    for service in CONSUMERS:
        rows = await query(platform.databases[service], "SELECT event_id FROM processed_events")
        processed = {str(row["event_id"]) for row in rows}
        for topic, types in handled_types(service).items():
            for event_id, envelopes in _events(records, topic).items():
                if envelopes[0].get("event_type") in types and event_id not in poison_ids:
                    events += 1
                    assert event_id in processed, (
                        f"{service} never applied {envelopes[0]['event_type']} {event_id} from {topic}"
                    )
    rows = await query(platform.databases["intake"], "SELECT id, status FROM initiatives")
    intake = {str(r["id"]): r["status"] for r in rows}
    for initiative_id, group_id in ledger.groups.items():
        if group_id in ledger.formed:
            assert intake[initiative_id] == "group_formed", (initiative_id, intake[initiative_id])
    matching = await query(platform.databases["matching"], "SELECT id, status FROM initiatives")
    known = {str(r["id"]) for r in matching}
    assert ledger.accepted <= known, f"accepted initiatives matching never heard of: {ledger.accepted - known}"
    return {"events_applied": events}


async def only_poison_is_dead_lettered(platform: Platform, ledger: Ledger, records: list[Seen]) -> dict[str, int]:
    """Each injected poison record is in its topic's DLQ once per consumer that met it, with its error; no
    legitimate event is there."""
    dead = [r for r in records if r.topic.endswith(DLQ_SUFFIX)]
    expected: Counter[tuple[str, str, bytes]] = Counter()
    for poison in ledger.poison:
        for consumer in poison["consumers"]:
            expected[(poison["topic"] + DLQ_SUFFIX, consumer, poison["value"])] += 1
    got = Counter((r.topic, r.headers.get("dlq-consumer", ""), r.value) for r in dead)
    strangers = [
        (r.topic, r.headers.get("dlq-consumer"), r.headers.get("dlq-error-type"), r.headers.get("dlq-error", "")[:200])
        for r in dead
        if (r.topic, r.headers.get("dlq-consumer", ""), r.value) not in expected
    ]
    assert not strangers, f"{len(strangers)} records dead-lettered that were no poison, e.g. {strangers[:5]}"
    missing = [key[:2] for key in expected if got[key] < expected[key]]
    assert not missing, f"poison not dead-lettered (dlq topic, consumer): {missing}"
    for record in dead:
        assert record.headers.get("dlq-error-type") and record.headers.get("dlq-error"), record.headers
        assert record.headers.get("dlq-original-topic") == platform.namespace + record.topic.removesuffix(
            DLQ_SUFFIX
        ) or record.headers.get("dlq-original-topic") == record.topic.removesuffix(DLQ_SUFFIX), record.headers
    return {"dead_lettered": len(dead), "poison_injected": len(ledger.poison)}


def no_personal_data_in_logs(platform: Platform, ledger: Ledger) -> dict[str, int]:
    """The captured output of every service process names no test person (name, email, phone)."""
    needles = {value for values in ledger.personal_data().values() for value in values}
    lines = 0
    leaks: list[str] = []
    for service in SERVICES:
        text = platform.services[service].log_path.read_text(errors="replace")
        assert "service.started" in text, f"{service}'s log was not captured"  # the scan reads the real output
        for line in text.splitlines():
            lines += 1
            for needle in needles:
                if needle in line:
                    leaks.append(f"{service}: {needle!r} in {line[:300]}")
    assert not leaks, f"{len(leaks)} log lines carry personal data, e.g.\n" + "\n".join(leaks[:5])
    return {"log_lines_scanned": lines}


async def erased_people_appear_nowhere(platform: Platform, ledger: Ledger) -> dict[str, int]:
    """No row of any table of any service (read as text, shared.testing.rows_mentioning) holds an erased
    person's name, email or phone."""
    erased = [p for p in ledger.people.values() if p.erased]
    assert erased
    kept = next(p for p in ledger.people.values() if not p.erased and p.kind == "direct")
    found = await rows_mentioning(platform.databases["resources"], kept.email)
    assert found.get("resources"), f"the scan does not find what is there: {kept.email} found only in {found}"
    leftovers = {}
    for person in erased:
        for service, url in platform.databases.items():
            if found := await rows_mentioning(url, person.name, person.email, person.phone):
                leftovers[f"{person.email} in {service}"] = found
    assert not leftovers, f"erased people are still stored (table: rows): {leftovers}"
    return {"erased_people": len(erased)}
