"""Two replicas of every service share the work without losing or doubling any of it.

Each service runs as two OS processes (`meetmalmo serve <name>`, as a Kubernetes Deployment of two pods
would) on one PostgreSQL database per service and one Kafka topic namespace; the notifications replicas
send to one SMTP server that keeps what it receives. Every request of the journey goes to one replica
or the other in turn: coordinators register people, the portal submits initiatives (one of them sent to
both replicas at once with the same Idempotency-Key), coordinators accept them and confirm the groups
matching proposes, and the members accept from the links in their emails until every group is formed.

Then, from the databases, the topics, the consumer groups and the mailbox: each consumer group has two
members that split the partitions between them; every outbox row was published exactly once; the
doubled submission made one initiative; every email arrived exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment, ConsumerProtocolMemberMetadata

from shared.auth import issue_local_token
from shared.contracts.topics import Topic
from shared.settings import PlatformSettings
from shared.testing import (
    SERVICES,
    Mailbox,
    eventually,
    free_port,
    link_after,
    query,
    query_value,
    read_records,
    smtp_server,
)

pytestmark = pytest.mark.integration

REPLICAS = 2
SECRET = "two-replicas-secret-of-at-least-32-characters"
WEB = "http://web.meetmalmo.test"  # every link in an email opens a page here; the test follows it to the API
COORDINATORS = ("eva.coordinator@malmo.se", "omar.coordinator@malmo.se")
STAFF = {
    "Authorization": "Bearer "
    + issue_local_token(PlatformSettings(auth_jwt_secret=SECRET), email=COORDINATORS[0], roles=["coordinator"])
}
INITIATIVES = 6
WAIT = 60.0  # seconds any one step may take to show on a busy 2-core machine (they take a few)
CONSUMER_GROUPS = ("intake", "matching", "notifications")  # resources consumes nothing
WEB_SERVICE = "web"  # no data of its own: it asks the services
RESOURCES_LIMIT = 6  # public requests per visitor and hour to resources, however many replicas answer them
EVERY_SERVICE = (*SERVICES, WEB_SERVICE)


# --- the processes --------------------------------------------------------------------------------


@dataclass
class Replica:
    service: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def service_environment(
    service: str, port: int, database_url: str, namespace: str, kafka: str, smtp_port: int, var_dir: Path
) -> dict[str, str]:
    """What a pod of `service` would be given (see deploy/helm): the platform's settings and its own."""
    prefix = service.upper()
    inherited = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(tuple(f"{other.upper()}_" for other in EVERY_SERVICE))
    }
    environment = {
        **inherited,
        "MEETMALMO_ENVIRONMENT": "local",
        "MEETMALMO_KAFKA_BOOTSTRAP": kafka,
        "MEETMALMO_TOPIC_NAMESPACE": namespace,
        "MEETMALMO_AUTH_JWT_SECRET": SECRET,
        "MEETMALMO_WEB_PUBLIC_URL": WEB,
        "MEETMALMO_OUTBOX_POLL_SECONDS": "0.2",
        "MEETMALMO_CONSUMER_BACKOFF_SECONDS": "0.01",
        "MEETMALMO_LOG_FORMAT": "json",
        "MEETMALMO_VAR_DIR": str(var_dir),
        f"{prefix}_HOST": "127.0.0.1",
        f"{prefix}_PORT": str(port),
        f"{prefix}_PUBLIC_URL": f"http://127.0.0.1:{port}",
        f"{prefix}_DATABASE_URL": database_url,
        f"{prefix}_LINK_SECRET": SECRET,
        f"{prefix}_PUBLIC_RATE_LIMIT": "100000/minute",
    }
    if service == WEB_SERVICE:
        for name in ("DATABASE_URL", "LINK_SECRET", "PUBLIC_RATE_LIMIT"):
            del environment[f"{prefix}_{name}"]
        environment["WEB_SESSION_SECRET"] = SECRET
    if service == "resources":  # the journey uses none of its public routes: their limit is the one checked
        environment["RESOURCES_PUBLIC_RATE_LIMIT"] = f"{RESOURCES_LIMIT}/hour"
    if service == "matching":
        environment["MATCHING_SWEEP_SECONDS"] = "1"
    if service == "notifications":
        environment |= {
            "NOTIFICATIONS_SMTP_HOST": "127.0.0.1",
            "NOTIFICATIONS_SMTP_PORT": str(smtp_port),
            "NOTIFICATIONS_SMTP_STARTTLS": "false",
            "NOTIFICATIONS_SMTP_TIMEOUT_SECONDS": "5",
            "NOTIFICATIONS_COORDINATOR_EMAILS": ",".join(COORDINATORS),
            "NOTIFICATIONS_RETRY_BASE_SECONDS": "0.05",
            "NOTIFICATIONS_RETRY_MAX_SECONDS": "0.5",
            "NOTIFICATIONS_SEND_POLL_SECONDS": "0.2",
        }
    return environment


@contextlib.contextmanager
def replicas_of_every_service(
    databases: dict[str, str], namespace: str, kafka: str, smtp_port: int, directory: Path
) -> Iterator[dict[str, list[Replica]]]:
    """Two `meetmalmo serve <service>` processes per service; yields them once every one is ready."""
    started: dict[str, list[Replica]] = {service: [] for service in EVERY_SERVICE}
    try:
        for service, number in itertools.product(EVERY_SERVICE, range(REPLICAS)):
            port = free_port()
            log = directory / f"{service}-{number}.log"
            environment = service_environment(
                service, port, databases.get(service, ""), namespace, kafka, smtp_port, directory
            )
            if service == WEB_SERVICE:  # each web replica asks one replica of each service, as a Service would
                environment |= {f"WEB_{other.upper()}_URL": started[other][number].url for other in SERVICES}
            with log.open("wb") as output:
                process = subprocess.Popen(
                    [sys.executable, "-m", "shared.cli", "serve", service],
                    env=environment,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            started[service].append(Replica(service, f"http://127.0.0.1:{port}", process, log))
        deadline = time.monotonic() + 120
        for replica in (r for group in started.values() for r in group):
            while not _ready(replica):
                if replica.process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"{replica.service} at {replica.url} did not become ready:\n{replica.tail()}")
                time.sleep(0.2)
        yield started
    finally:
        everyone = [r for group in started.values() for r in group]
        for replica in everyone:
            if replica.process.poll() is None:
                replica.process.send_signal(signal.SIGINT)
        for replica in everyone:
            try:
                replica.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                replica.process.kill()
                replica.process.wait()


def _ready(replica: Replica) -> bool:
    try:
        return httpx.get(f"{replica.url}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@dataclass
class Platform:
    replicas: dict[str, list[Replica]]
    databases: dict[str, str]
    mailbox: Mailbox
    namespace: str
    kafka: str
    client: httpx.AsyncClient
    turns: Iterator[int]

    def url(self, service: str) -> str:
        """The next replica of `service`, in turn: the requests of the journey are shared between them."""
        return self.replicas[service][next(self.turns) % REPLICAS].url

    def all_urls(self, service: str) -> list[str]:
        return [replica.url for replica in self.replicas[service]]


@pytest.fixture
async def platform(
    service_database: Callable[[str], Awaitable[str]], kafka_bootstrap: str, topic_namespace: str, tmp_path: Path
) -> AsyncIterator[Platform]:
    databases = {name: await service_database(name) for name in SERVICES}
    mailbox = Mailbox()
    with (
        smtp_server(mailbox) as smtp_port,
        replicas_of_every_service(databases, topic_namespace, kafka_bootstrap, smtp_port, tmp_path) as replicas,
    ):
        async with httpx.AsyncClient(timeout=30.0) as client:
            yield Platform(replicas, databases, mailbox, topic_namespace, kafka_bootstrap, client, itertools.count())


# --- the journey, shared between the replicas -----------------------------------------------------


def person(name: str, email: str, organisation: str, kind: str, competence: str) -> dict[str, Any]:
    return {
        "name": name, "email": email, "organisation_name": organisation, "organisation_type": kind,
        "role_title": "Medarbetare", "competences": [competence], "themes": ["employment"],
        "languages": ["sv"], "language": "sv", "capacity": 5,
    }  # fmt: skip


# Each group needs a recruiter and a municipality representative, one per organisation: two of each,
# with room for five groups each, so six groups fit and both people of each kind are needed.
PEOPLE = [
    person("Maria Lind", "maria.lind@malmo.se", "Malmö stad", "municipality", "mentoring"),
    person("Mats Holm", "mats.holm@malmo.se", "Malmö stad", "municipality", "mentoring"),
    person("Berit Bengtsson", "berit@bengtssons.example", "Bengtssons Rekrytering AB", "business", "recruitment"),
    person("Erik Persson", "erik@oresund-logistik.example", "Öresund Logistik AB", "business", "recruitment"),
]


def initiative(number: int) -> dict[str, Any]:
    return {
        "title": f"Sommarjobb för unga, omgång {number}",
        "summary": f"Företag och staden erbjuder sommarjobb till unga, omgång {number}.",
        "originator": {
            "organisation_name": f"Acme Bygg {number} AB",
            "organisation_type": "business",
            "contact_name": f"Anna Andersson {number}",
            "contact_email": f"anna{number}@acme.example",
        },
        "themes": ["employment"],
        "seeking": ["collaboration_partners"],
        "competences_needed": ["recruitment"],
        "group_size": {"min": 2, "max": 2},
        "language": "sv",
        "consent": True,
    }


async def test_two_replicas_of_every_service_share_the_journey_with_nothing_lost_or_doubled(
    platform: Platform,
) -> None:
    client = platform.client

    # Coordinators register the people, each through one replica or the other.
    emails: dict[str, str] = {}  # resource id -> email
    for body in PEOPLE:
        registered = await client.post(f"{platform.url('resources')}/api/v1/resources/direct", json=body, headers=STAFF)
        assert registered.status_code == 201, registered.text
        emails[registered.json()["id"]] = body["email"]
    await eventually(
        lambda: _equals(query_value(platform.databases["matching"], "SELECT count(*) FROM resources"), len(PEOPLE)),
        timeout=WAIT,
    )

    # The portal submits; the first submission reaches both intake replicas at once with one Idempotency-Key.
    doubled = {"Idempotency-Key": str(uuid.uuid4())}
    both = await asyncio.gather(
        *(
            client.post(f"{url}/api/v1/initiatives", json=initiative(0), headers=doubled)
            for url in platform.all_urls("intake")
        )
    )
    assert [answer.status_code for answer in both] == [201, 201], [answer.text for answer in both]
    assert both[0].json() == both[1].json()
    assert sorted(answer.headers.get("Idempotent-Replayed", "false") for answer in both) == ["false", "true"]
    submitted = [both[0].json()]
    for number in range(1, INITIATIVES):
        answer = await client.post(
            f"{platform.url('intake')}/api/v1/initiatives",
            json=initiative(number),
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
        assert answer.status_code == 201, answer.text
        submitted.append(answer.json())
    ids = [item["id"] for item in submitted]
    assert await query_value(platform.databases["intake"], "SELECT count(*) FROM initiatives") == INITIATIVES

    # Coordinators accept them all at about the same moment, through both replicas.
    accepted = await asyncio.gather(
        *(client.post(f"{platform.url('intake')}/api/v1/initiatives/{i}/accept", headers=STAFF) for i in ids)
    )
    assert all(answer.status_code == 200 for answer in accepted), [answer.text for answer in accepted]

    async def proposed(initiative_id: str) -> dict[str, Any] | None:
        answer = await client.get(
            f"{platform.url('matching')}/api/v1/groups", params={"initiative_id": initiative_id}, headers=STAFF
        )
        items = answer.json()["items"]
        return items[0] if items else None

    groups = [await eventually(lambda i=i: proposed(i), timeout=WAIT) for i in ids]
    assert all(len(group["members"]) == 2 for group in groups)
    confirmed = await asyncio.gather(
        *(client.post(f"{platform.url('matching')}/api/v1/groups/{g['id']}/confirm", headers=STAFF) for g in groups)
    )
    assert all(answer.status_code == 200 for answer in confirmed), [answer.text for answer in confirmed]

    # Every member accepts from the link in each invitation, through either matching replica.
    invitations = await eventually(lambda: _all_invitations(platform.mailbox, 2 * INITIATIVES), timeout=WAIT)
    answers = await asyncio.gather(
        *(
            client.post(f"{platform.url('matching')}/api/v1/invitations/{_token(link_after(m, 'Tacka ja:'))}")
            for m in invitations
        )
    )
    assert all(answer.status_code == 200 for answer in answers), [answer.text for answer in answers]

    async def every_group_formed() -> bool:
        statuses = [
            (await client.get(f"{platform.url('intake')}/api/v1/initiatives/{i}", headers=STAFF)).json()["status"]
            for i in ids
        ]
        return all(status == "group_formed" for status in statuses)

    await eventually(every_group_formed, timeout=WAIT)

    members = [emails[member["resource_id"]] for group in groups for member in group["members"]]
    await every_email_arrived_exactly_once(platform, expected_emails(members))
    await a_staff_session_begun_on_one_web_replica_holds_on_the_other(platform, [i["reference"] for i in submitted])
    await one_visitor_has_one_rate_limit_across_both_replicas(platform)
    await every_outbox_row_was_published_exactly_once(platform)
    await each_consumer_group_has_both_replicas_splitting_the_partitions(platform)


async def a_staff_session_begun_on_one_web_replica_holds_on_the_other(
    platform: Platform, references: list[str]
) -> None:
    """The web keeps its sessions in an encrypted cookie, not in a process: a coordinator who opens the
    sign-in on one replica, signs in through the other and reads the inbox on the first sees every
    initiative (each web replica asks its own replicas of the services)."""
    first, second = platform.all_urls(WEB_SERVICE)
    async with httpx.AsyncClient(timeout=30.0, follow_redirects=True) as browser:  # cookies go to both ports
        page = await browser.get(f"{first}/staff/sign-in")
        assert page.status_code == 200, page.text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert csrf, "the sign-in page has no CSRF token"
        form = {"csrf_token": csrf.group(1), "name": "Eva", "email": COORDINATORS[0], "role": "coordinator"}
        signed_in = await browser.post(f"{second}/staff/sign-in", data=form, follow_redirects=False)
        assert signed_in.status_code == 303, signed_in.text
        inbox = await browser.get(f"{first}/staff")
        assert inbox.status_code == 200 and str(inbox.url) == f"{first}/staff", inbox.url
        assert all(reference in inbox.text for reference in references), "the inbox lists every initiative"


async def one_visitor_has_one_rate_limit_across_both_replicas(platform: Platform) -> None:
    """The counters are in the service's database, not in a process: a visitor who alternates between the
    two replicas gets the limit once, not once per replica. (Each refused registration is an empty form:
    the limit is counted before the form is read, and nothing is registered.)"""
    answers = [
        await platform.client.post(f"{platform.url('resources')}/api/v1/resources", json={})
        for _ in range(2 * RESOURCES_LIMIT)
    ]
    assert [answer.status_code for answer in answers] == [422] * RESOURCES_LIMIT + [429] * RESOURCES_LIMIT
    assert all(int(answer.headers["Retry-After"]) >= 1 for answer in answers[RESOURCES_LIMIT:])


def _all_invitations(mailbox: Mailbox, expected: int) -> list[Any] | None:
    found = [m for m in mailbox.messages if str(m["Subject"]).startswith("Inbjudan till arbetsgrupp")]
    return found if len(found) >= expected else None


def _token(link: str) -> str:
    assert link.startswith(f"{WEB}/invitations/"), link
    return link.rsplit("/", 1)[1]


def expected_emails(members: list[str]) -> Counter[str]:
    """Who gets how many emails: each person a welcome, and for each group they are in an invitation and
    the formed group; each originator the receipt, the acceptance and the formed group; each coordinator
    for each initiative the alert, the proposal and the formed group."""
    expected: Counter[str] = Counter({body["email"]: 1 for body in PEOPLE})
    expected.update(members * 2)
    expected.update({f"anna{number}@acme.example": 3 for number in range(INITIATIVES)})
    expected.update({coordinator: 3 * INITIATIVES for coordinator in COORDINATORS})
    return expected


async def every_email_arrived_exactly_once(platform: Platform, expected: Counter[str]) -> None:
    """Once the delivery log (shared by both notifications replicas) has settled, the mailbox is that log,
    each email once: no replica sent what the other had sent."""

    async def settled() -> list[dict[str, Any]] | None:
        answer = await platform.client.get(
            f"{platform.url('notifications')}/api/v1/deliveries", params={"limit": 200}, headers=STAFF
        )
        found: list[dict[str, Any]] = answer.json()["items"]
        everything_sent = len(found) >= expected.total() and all(d["status"] == "sent" for d in found)
        return found if everything_sent and len(platform.mailbox.messages) >= expected.total() else None

    deliveries = await eventually(settled, timeout=WAIT)
    await asyncio.sleep(1.0)  # a second send of any of them would have arrived by now
    received = platform.mailbox.messages
    assert Counter(str(m["To"]) for m in received) == expected
    assert len(received) == len(deliveries) == expected.total()
    assert len({m["Message-ID"] for m in received}) == len(received)
    assert len({(m["To"], str(m["Subject"])) for m in received}) == len(received)
    assert {m["Message-ID"] for m in received} == {d["message_id"] for d in deliveries}


async def every_outbox_row_was_published_exactly_once(platform: Platform) -> None:
    """Both relays of a service read one outbox: every row is published, and each event is in its topic
    once (a second relay publishing the same rows would put them there twice)."""
    expected: dict[str, set[str]] = {topic.value: set() for topic in Topic}
    for service in SERVICES:
        rows = await query(platform.databases[service], "SELECT topic, envelope, published_at FROM outbox")
        assert all(row["published_at"] is not None for row in rows), f"{service} left rows unpublished"
        for row in rows:
            expected[row["topic"]].add(json.loads(row["envelope"])["event_id"])
    for topic, event_ids in expected.items():
        everything = await records_in(platform.kafka, platform.namespace + topic)
        records = await read_records(
            platform.kafka, platform.namespace + topic, until=lambda r, n=everything: len(r) >= n
        )
        seen = Counter(record.json()["event_id"] for record in records)
        assert set(seen) == event_ids, topic
        assert max(seen.values(), default=1) == 1, f"{topic}: published twice: {[e for e, n in seen.items() if n > 1]}"


async def records_in(bootstrap: str, topic: str) -> int:
    """How many records the topic holds (the sum of its partitions' end offsets: a test topic starts at 0)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, partition["partition"]) for partition in described["partitions"]]
        return sum((await consumer.end_offsets(partitions)).values())
    finally:
        await consumer.stop()


async def each_consumer_group_has_both_replicas_splitting_the_partitions(platform: Platform) -> None:
    """Each service's consumer group has one member per replica; each member holds partitions of its own,
    none held twice, all held."""
    admin = AIOKafkaAdminClient(bootstrap_servers=platform.kafka)
    await admin.start()
    try:
        for group in CONSUMER_GROUPS:
            (response,) = await admin.describe_consumer_groups([platform.namespace + group])
            (description,) = response.groups
            members = description[5]
            assert description[2] == "Stable" and len(members) == REPLICAS, (group, description[2], len(members))
            held = [ConsumerProtocolMemberAssignment.decode(member[-1]).partitions() for member in members]
            assert all(held), f"{group}: a replica holds no partition: {held}"
            flat = [partition for partitions in held for partition in partitions]
            assert len(flat) == len(set(flat)), f"{group}: a partition is held twice: {held}"
            (topics,) = {tuple(sorted(ConsumerProtocolMemberMetadata.decode(m[-2]).subscription)) for m in members}
            partitions = sum(len(t["partitions"]) for t in await admin.describe_topics(list(topics)))
            assert len(flat) == partitions, f"{group}: {len(flat)} of {partitions} partitions held"
    finally:
        await admin.close()


async def _equals(value: Awaitable[Any], expected: Any) -> bool:
    return bool(await value == expected)
