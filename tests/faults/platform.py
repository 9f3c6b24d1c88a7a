"""One scenario's platform (the four services as processes on fresh databases and a topic namespace of their
own, an SMTP server the suite controls) and the load that people put on it, remembered in a ledger."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import string
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx

from shared.auth import issue_local_token
from shared.settings import PlatformSettings
from shared.testing import (
    drop_database,
    link_after,
    links_in,
    migrated_database,
    new_namespace,
    restartable_port,
    subject_of,
)
from tests.faults.infrastructure import (
    ROOT,
    SERVICES,
    ControlledMailbox,
    OwnKafka,
    OwnPostgres,
    ServiceProcess,
    SmtpServer,
    service_environment,
)

SECRET = "fault-suite-secret-that-is-long-and-random-enough-0b6f1c"
COORDINATORS = ("eva.coordinator@malmo.se", "omar.coordinator@malmo.se")
WEB = "http://web.faults.test"  # MEETMALMO_WEB_PUBLIC_URL: the links in emails open pages there
SMTP_TIMEOUT = 2.0  # NOTIFICATIONS_SMTP_TIMEOUT_SECONDS
SETTLE = 150.0  # seconds the platform may take to catch up after a fault
MUNICIPALITY = ("Malmö stad", "municipality")


def _letters(n: int) -> str:
    out = ""
    n += 26
    while n:
        n, r = divmod(n, 26)
        out = string.ascii_lowercase[r] + out
    return out


@dataclass
class Person:
    name: str
    email: str
    phone: str
    kind: str  # "direct" (a coordinator registered them) or "self" (the portal, double opt-in)
    body: dict[str, Any]
    id: str | None = None
    confirmed: bool = False
    erased: bool = False


@dataclass
class Submission:
    key: str  # the Idempotency-Key the portal sends with every try
    title: str
    contact_name: str
    contact_email: str
    contact_phone: str
    body: dict[str, Any]
    id: str | None = None
    reference: str | None = None
    tries: int = 0


@dataclass
class Ledger:
    """What the people did and what the platform answered: the expectations the proofs check."""

    tag: str
    people: dict[str, Person] = field(default_factory=dict)
    submissions: list[Submission] = field(default_factory=list)
    accepted: set[str] = field(default_factory=set)
    groups: dict[str, str] = field(default_factory=dict)  # initiative id -> its group's id
    members: dict[str, list[str]] = field(default_factory=dict)  # group id -> members' resource ids
    formed: set[str] = field(default_factory=set)  # group ids
    requests: int = 0
    failed_tries: int = 0  # 5xx or no answer, tried again
    faults: list[str] = field(default_factory=list)
    poison: list[dict[str, Any]] = field(default_factory=list)

    @property
    def created(self) -> list[Submission]:
        return [s for s in self.submissions if s.id]

    def person_by_id(self, resource_id: str) -> Person:
        return next(p for p in self.people.values() if p.id == resource_id)

    def expected_emails(self) -> Counter[str]:
        """How many emails each address must have received once the platform settled."""
        expected: Counter[str] = Counter()
        for person in self.people.values():
            expected[person.email] += 1  # welcome (direct) or the confirmation request (self)
            if person.kind == "self" and person.confirmed:
                expected[person.email] += 1  # welcome
        by_id = {s.id: s for s in self.created}
        for submission in self.created:
            expected[submission.contact_email] += 1  # receipt
            for coordinator in COORDINATORS:
                expected[coordinator] += 1  # new initiative
        for initiative_id in self.accepted:
            expected[by_id[initiative_id].contact_email] += 1  # accepted
        for initiative_id, group_id in self.groups.items():
            for coordinator in COORDINATORS:
                expected[coordinator] += 1  # the proposal to confirm
            for resource_id in self.members[group_id]:
                expected[self.person_by_id(resource_id).email] += 1  # invitation
            if group_id in self.formed:
                expected[by_id[initiative_id].contact_email] += 1
                for coordinator in COORDINATORS:
                    expected[coordinator] += 1
                for resource_id in self.members[group_id]:
                    expected[self.person_by_id(resource_id).email] += 1
        return expected

    def personal_data(self) -> dict[str, list[str]]:
        """Every test person's name, email and phone (as typed and as stored), by whose they are."""
        found: dict[str, list[str]] = {}
        for person in self.people.values():
            found[person.email] = [person.name, person.email, person.phone, "0" + person.phone.removeprefix("+46")]
        for submission in self.submissions:
            phone = submission.contact_phone
            found[submission.contact_email] = [
                submission.contact_name,
                submission.contact_email,
                phone,
                "0" + phone.removeprefix("+46"),
            ]
        return found


class Platform:
    """The four services as OS processes on `kafka` and `postgres`, sending to an SMTP server of the suite's."""

    def __init__(self, scenario: str, kafka: OwnKafka, postgres: OwnPostgres) -> None:
        self.scenario = scenario
        self.kafka = kafka
        self.postgres = postgres
        self.namespace = new_namespace()
        self.mailbox = ControlledMailbox()
        self.smtp = SmtpServer(self.mailbox)
        self.logs = ROOT / "var" / "faults" / f"{scenario}-{self.namespace.split('.')[1]}"
        self.databases: dict[str, str] = {}
        self.services: dict[str, ServiceProcess] = {}
        self.staff = {
            "Authorization": "Bearer "
            + issue_local_token(PlatformSettings(auth_jwt_secret=SECRET), email=COORDINATORS[0], roles=["coordinator"])
        }

    def _settings(self, service: str, port: int) -> dict[str, str]:
        prefix = service.upper()
        settings = {
            "MEETMALMO_ENVIRONMENT": "local",
            "MEETMALMO_KAFKA_BOOTSTRAP": self.kafka.bootstrap,
            "MEETMALMO_TOPIC_NAMESPACE": self.namespace,
            "MEETMALMO_AUTH_JWT_SECRET": SECRET,
            "MEETMALMO_WEB_PUBLIC_URL": WEB,
            "MEETMALMO_OUTBOX_POLL_SECONDS": "0.2",
            "MEETMALMO_LOG_FORMAT": "json",
            "MEETMALMO_VAR_DIR": str(self.logs / "var"),
            f"{prefix}_DATABASE_URL": self.databases[service],
            f"{prefix}_PORT": str(port),
            f"{prefix}_PUBLIC_URL": f"http://127.0.0.1:{port}",
            f"{prefix}_LINK_SECRET": f"{SECRET}-{service}-links",
            f"{prefix}_PUBLIC_RATE_LIMIT": "100000/minute",
        }
        if service == "matching":
            settings["MATCHING_SWEEP_SECONDS"] = "1"
        if service == "notifications":
            settings |= {
                "NOTIFICATIONS_SMTP_HOST": "127.0.0.1",
                "NOTIFICATIONS_SMTP_PORT": str(self.smtp.port),
                "NOTIFICATIONS_SMTP_TIMEOUT_SECONDS": str(SMTP_TIMEOUT),
                "NOTIFICATIONS_COORDINATOR_EMAILS": ",".join(COORDINATORS),
                # A quick backoff with a low cap: the suite's minutes stand for an outage of hours.
                "NOTIFICATIONS_RETRY_BASE_SECONDS": "0.05",
                "NOTIFICATIONS_RETRY_MAX_SECONDS": "0.5",
                "NOTIFICATIONS_SEND_POLL_SECONDS": "0.2",
            }
        return settings

    async def start(self) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        for service in SERVICES:
            self.databases[service] = await migrated_database(self.postgres.server_url, service)
        self.smtp.open()
        for service in SERVICES:
            port = restartable_port()  # each service is killed and started again on the same port
            env = service_environment(os.environ, self._settings(service, port))
            self.services[service] = ServiceProcess(service, port, env, self.logs / f"{service}.log")
        for process in self.services.values():
            process.start()
        await asyncio.gather(*(process.ready() for process in self.services.values()))

    async def stop(self) -> None:
        for process in self.services.values():
            process.stop()
        self.smtp.close()
        for url in self.databases.values():
            with contextlib.suppress(Exception):
                await drop_database(url)

    def url(self, service: str) -> str:
        return self.services[service].url

    @property
    def topics_prefix(self) -> str:
        return self.namespace


@contextlib.asynccontextmanager
async def platform_for(scenario: str, kafka: OwnKafka, postgres: OwnPostgres) -> AsyncIterator[Platform]:
    platform = Platform(scenario, kafka, postgres)
    try:
        await platform.start()
        yield platform
    finally:
        await platform.stop()


# --- what people do ---------------------------------------------------------------------------------


class GaveUp(AssertionError):
    pass


class Load:
    """The people of one scenario: a pool joins, the portal submits, coordinators accept and confirm,
    members answer. Every request is tried again while the platform answers 5xx or not at all, as the portal
    and people do; what finally answered goes into the ledger."""

    def __init__(self, platform: Platform, client: httpx.AsyncClient) -> None:
        self.platform = platform
        self.client = client
        self.ledger = Ledger(tag="".join(random.choices(string.ascii_lowercase, k=4)))
        self._phone = random.randrange(1_000_000, 8_000_000)

    async def request(self, method: str, url: str, *, deadline: float = SETTLE, **kwargs: Any) -> httpx.Response:
        """The answer to the request, trying again on a 5xx or no answer (a timeout, a refused connection)."""
        give_up = time.monotonic() + deadline
        while True:
            self.ledger.requests += 1
            try:
                answer = await self.client.request(method, url, **kwargs)
                if answer.status_code < 500:
                    return answer
                problem = f"{answer.status_code} {answer.text[:200]}"
            except httpx.HTTPError as exc:
                problem = repr(exc)
            self.ledger.failed_tries += 1
            if time.monotonic() > give_up:
                raise GaveUp(f"{method} {url}: still {problem} after {deadline}s")
            await asyncio.sleep(0.5)

    # --- people and their details

    def _new_phone(self) -> str:
        self._phone += 1
        return f"+4670{self._phone:07d}"

    def _person(self, n: int, kind: str, organisation: tuple[str, str], competences: list[str]) -> Person:
        tag = self.ledger.tag
        name = f"Ylva {tag.capitalize()}{_letters(n)}qvist"
        email = f"ylva.{tag}{n}@{kind}-{tag}.example"
        phone = self._new_phone()
        body = {
            "name": name, "email": email, "phone": phone, "organisation_name": organisation[0],
            "organisation_type": organisation[1], "organisation_number": None, "role_title": "Rådgivare",
            "competences": competences, "themes": ["employment"], "capacity": 3, "languages": ["sv"],
            "language": "sv",
        }  # fmt: skip
        return Person(name, email, phone, kind, body)

    async def join_the_pool(self, municipality: int = 4, business: int = 6, self_registered: int = 4) -> None:
        """A coordinator registers municipality staff and business people; others register from the portal."""
        resources = self.platform.url("resources")
        n = len(self.ledger.people)
        direct = [self._person(n + i, "direct", MUNICIPALITY, ["mentoring"]) for i in range(municipality)]
        n += municipality
        direct += [
            self._person(n + i, "direct", (f"Företag {self.ledger.tag} {_letters(n + i)} AB", "business"),
                         ["mentoring"])
            for i in range(business)
        ]  # fmt: skip
        n += business
        portal = [
            self._person(n + i, "self", (f"Portalbolag {self.ledger.tag} {_letters(n + i)} AB", "business"),
                         ["mentoring"])
            for i in range(self_registered)
        ]  # fmt: skip
        for person in direct:
            answer = await self.request(
                "POST", f"{resources}/api/v1/resources/direct", json=person.body, headers=self.platform.staff
            )
            # 409 naming the resource: a try whose answer was lost (the service died after its commit) stored it
            assert answer.status_code == 201 or (answer.status_code == 409 and "resource_id" in answer.json()), (
                answer.text
            )
            person.id = answer.json().get("id") or answer.json()["resource_id"]
            self.ledger.people[person.email] = person
        for person in portal:
            answer = await self.request("POST", f"{resources}/api/v1/resources", json={**person.body, "consent": True})
            assert answer.status_code == 201, answer.text
            person.id = answer.json()["id"]
            self.ledger.people[person.email] = person

    async def confirm_registrations(self) -> None:
        """Each person who registered from the portal presses the button behind the link in their email."""
        resources = self.platform.url("resources")
        for person in self.ledger.people.values():
            if person.kind != "self" or person.confirmed:
                continue
            message = await self.email(person.email, lambda m: bool(links_in(m, "/confirm/")))
            (link,) = set(links_in(message, "/confirm/"))
            token = link.rsplit("/", 1)[1]
            answer = await self.request("POST", f"{resources}/api/v1/confirmations/{token}")
            assert answer.status_code == 200, answer.text
            person.confirmed = True

    async def matching_knows_the_pool(self) -> None:
        """Matching reads people and initiatives from two topics; people register minutes before a coordinator
        accepts in life, here the load waits for matching to know everyone."""
        from shared.testing import query_value

        active = sum(1 for p in self.ledger.people.values() if p.kind == "direct" or p.confirmed)
        database = self.platform.databases["matching"]
        await self.until(
            lambda: _equals(query_value(database, "SELECT count(*) FROM resources WHERE active"), active),
            what=f"matching knows the {active} active people",
        )

    # --- initiatives

    def _initiative(self) -> Submission:
        n = len(self.ledger.submissions)
        tag = self.ledger.tag
        contact = f"Anna {tag.capitalize()}{_letters(n)}sson"
        email = f"anna.{tag}{n}@originator-{tag}.example"
        phone = self._new_phone()
        title = f"Fältprov {tag} nummer {n}: sommarjobb för unga"
        body = {
            "title": title,
            "summary": "Företag i Malmö erbjuder sommarjobb och mentorer till unga, tillsammans med staden.",
            "originator": {
                "organisation_name": f"Initiativbolag {tag} {_letters(n)} AB", "organisation_type": "business",
                "organisation_number": None, "contact_name": contact, "contact_email": email,
                "contact_phone": phone,
            },
            "themes": ["employment"], "seeking": ["competences"], "competences_needed": ["mentoring"],
            "group_size": {"min": 2, "max": 2}, "language": "sv", "consent": True,
        }  # fmt: skip
        return Submission(str(uuid.uuid4()), title, contact, email, phone, body)

    async def submit(self, count: int, concurrency: int = 6) -> list[Submission]:
        """`count` submissions from the portal, `concurrency` at a time, each tried with its one
        Idempotency-Key until it is answered (201, or the first receipt replayed)."""
        intake = self.platform.url("intake")
        batch = []
        for _ in range(count):
            batch.append(self._initiative())
            self.ledger.submissions.append(batch[-1])
        gate = asyncio.Semaphore(concurrency)

        async def one(submission: Submission) -> None:
            async with gate:
                answer = await self.request(
                    "POST", f"{intake}/api/v1/initiatives", json=submission.body,
                    headers={"Idempotency-Key": submission.key},
                )  # fmt: skip
                assert answer.status_code == 201, answer.text
                submission.id = answer.json()["id"]
                submission.reference = answer.json()["reference"]

        await asyncio.gather(*(one(s) for s in batch))
        return batch

    async def accept(self, submissions: list[Submission]) -> None:
        intake = self.platform.url("intake")
        for submission in submissions:
            answer = await self.request(
                "POST", f"{intake}/api/v1/initiatives/{submission.id}/accept", headers=self.platform.staff
            )
            # 409 after a try whose answer was lost: it is accepted already
            assert answer.status_code in {200, 409}, answer.text
            assert submission.id
            self.ledger.accepted.add(submission.id)

    async def confirm_the_proposals(self) -> None:
        """For each accepted initiative, the coordinator waits for matching's proposal and confirms it."""
        matching = self.platform.url("matching")
        for initiative_id in sorted(self.ledger.accepted - set(self.ledger.groups)):

            async def proposed(initiative_id: str = initiative_id) -> list[dict[str, Any]]:
                answer = await self.request(
                    "GET", f"{matching}/api/v1/groups", params={"initiative_id": initiative_id},
                    headers=self.platform.staff,
                )  # fmt: skip
                return answer.json()["items"]  # type: ignore[no-any-return]

            (group,) = await self.until(proposed, what=f"a group is proposed for {initiative_id}")
            answer = await self.request(
                "POST", f"{matching}/api/v1/groups/{group['id']}/confirm", headers=self.platform.staff
            )
            assert answer.status_code in {200, 409}, answer.text
            self.ledger.groups[initiative_id] = group["id"]
            self.ledger.members[group["id"]] = [m["resource_id"] for m in group["members"]]

    async def members_accept(self) -> None:
        """Each invited member accepts from the link in their invitation."""
        matching = self.platform.url("matching")
        titles = {s.id: s.title for s in self.ledger.created}
        for initiative_id, group_id in self.ledger.groups.items():
            if group_id in self.ledger.formed:
                continue
            title = titles[initiative_id]
            for resource_id in self.ledger.members[group_id]:
                person = self.ledger.person_by_id(resource_id)
                invitation = await self.email(person.email, lambda m, t=title: t in subject_of(m))
                token = link_after(invitation, "Tacka ja:").rsplit("/", 1)[1]
                answer = await self.request("POST", f"{matching}/api/v1/invitations/{token}")
                assert answer.status_code in {200, 409}, answer.text

    async def groups_are_formed(self) -> None:
        matching = self.platform.url("matching")
        for group_id in self.ledger.groups.values():

            async def formed(group_id: str = group_id) -> bool:
                answer = await self.request("GET", f"{matching}/api/v1/groups/{group_id}", headers=self.platform.staff)
                return bool(answer.json()["status"] == "formed")

            await self.until(formed, what=f"group {group_id} is formed")
            self.ledger.formed.add(group_id)

    async def erase(self, person: Person) -> None:
        """The person erases themselves from the profile link in their welcome email."""
        message = await self.email(person.email, lambda m: bool(links_in(m, "/my/profile/")))
        token = links_in(message, "/my/profile/")[0].rsplit("/", 1)[1]
        answer = await self.request("DELETE", f"{self.platform.url('resources')}/api/v1/my/profile/{token}")
        assert answer.status_code in {204, 404}, answer.text
        person.erased = True

    # --- waiting

    async def email(self, address: str, which: Callable[[EmailMessage], bool]) -> EmailMessage:
        def found() -> list[EmailMessage]:
            return [m for m in self.platform.mailbox.messages if m["To"] == address and which(m)]

        return (await self.until(found, what=f"an email to {address}"))[0]

    async def until(self, check: Callable[[], Any], *, what: str, timeout: float = SETTLE) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            result = check()
            if isinstance(result, Awaitable):
                result = await result
            if result:
                return result
            if time.monotonic() > deadline:
                raise AssertionError(f"not within {timeout}s: {what}")
            await asyncio.sleep(0.25)

    async def journey(self, submissions: int, accepts: int) -> None:
        """The whole load in one go: the pool, the submissions, accepting some, groups formed."""
        await self.join_the_pool()
        await self.confirm_registrations()
        await self.matching_knows_the_pool()
        created = await self.submit(submissions)
        await self.accept(created[:accepts])
        await self.confirm_the_proposals()
        await self.members_accept()
        await self.groups_are_formed()


async def _equals(value: Awaitable[Any], expected: Any) -> bool:
    return bool(await value == expected)


def scenario_dir(platform: Platform) -> Path:
    return platform.logs
