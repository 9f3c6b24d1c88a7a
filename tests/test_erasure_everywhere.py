"""Erased means erased, everywhere: after a member of a working group asks to be erased, or an initiative's
originator contact is erased by a coordinator, their name and email are in no table of any service (every
table's every column read as text on PostgreSQL), and the group goes on without them. On the real parts: the
four services under uvicorn, Kafka, PostgreSQL and an SMTP server.

`shared.testing.rows_mentioning` is the scan; the fault suite uses it too."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from shared.auth import issue_local_token
from shared.contracts import Topic
from shared.settings import PlatformSettings
from shared.testing import (
    SERVICES,
    RunningServices,
    eventually,
    link_after,
    links_in,
    query,
    query_value,
    read_records,
    rows_mentioning,
    running_services,
    text_of,
)
from tests.test_platform_journey import BERIT, DANA, ERIK, INITIATIVE, MARIA, TITLE

pytestmark = pytest.mark.integration

SECRET = "erasure-everywhere-secret-of-at-least-32-characters"
COORDINATOR = "eva.coordinator@malmo.se"
STAFF = {
    "Authorization": "Bearer "
    + issue_local_token(PlatformSettings(auth_jwt_secret=SECRET), email=COORDINATOR, roles=["coordinator"])
}
WEB = "http://web.meetmalmo.test"
WAIT = 30.0


@pytest.fixture
async def platform(
    service_database: Callable[[str], Awaitable[str]], kafka_bootstrap: str, topic_namespace: str
) -> AsyncIterator[tuple[RunningServices, dict[str, str], httpx.AsyncClient]]:
    databases = {name: await service_database(name) for name in SERVICES}
    with running_services(
        databases, kafka_bootstrap, topic_namespace, secret=SECRET, web_public_url=WEB, coordinators=(COORDINATOR,)
    ) as services:
        async with httpx.AsyncClient(timeout=10.0) as client:
            yield services, databases, client


async def test_an_erased_member_appears_in_no_table_of_any_service(
    platform: tuple[RunningServices, dict[str, str], httpx.AsyncClient],
) -> None:
    services, databases, client = platform
    api = services.api
    for person in (BERIT, MARIA, DANA, ERIK):
        added = await client.post(f"{api['resources']}/api/v1/resources/direct", json=person.profile(), headers=STAFF)
        assert added.status_code == 201, added.text
    dana_id = await query_value(databases["resources"], "SELECT id FROM resources WHERE email = :e", e=DANA.email)
    welcome = await services.mailbox.one(DANA.email, "Välkommen till Meet Malmö")
    (profile_link,) = {link for link in links_in(welcome) if "/my/profile/" in link}
    token = profile_link.rsplit("/", 1)[1]
    # The mailed link opens her profile, and notifications, which signed it as the email went, keeps it nowhere.
    mine = await client.get(f"{api['resources']}/api/v1/my/profile/{token}")
    assert (mine.status_code, mine.json()["id"]) == (200, str(dana_id))
    assert await rows_mentioning(databases["notifications"], token, token.split(".")[0], "/my/profile/") == {}
    await eventually(lambda: _count(databases["matching"], "SELECT count(*) FROM resources", 4), timeout=WAIT)

    submitted = await client.post(
        f"{api['intake']}/api/v1/initiatives", json=INITIATIVE, headers={"Idempotency-Key": str(uuid.uuid4())}
    )
    initiative = submitted.json()["id"]
    await client.post(f"{api['intake']}/api/v1/initiatives/{initiative}/accept", headers=STAFF)
    (group,) = await eventually(lambda: _groups(client, api["matching"], initiative), timeout=WAIT)
    assert str(dana_id) in {m["resource_id"] for m in group["members"]}
    confirmed = await client.post(f"{api['matching']}/api/v1/groups/{group['id']}/confirm", headers=STAFF)
    assert confirmed.status_code == 200, confirmed.text
    await services.mailbox.one(DANA.email, f"Inbjudan till arbetsgrupp: {INITIATIVE['title']}")
    assert await rows_mentioning(databases["matching"], DANA.name, DANA.email)  # she is there before

    erased = await client.delete(f"{api['resources']}/api/v1/my/profile/{token}")
    assert erased.status_code == 204, erased.text

    # Matching replaces her (Erik is invited); matching and notifications remember her id, and nothing of hers
    # is left anywhere once the events about her are out.
    await services.mailbox.one(ERIK.email, f"Inbjudan till arbetsgrupp: {INITIATIVE['title']}")
    for service in ("matching", "notifications"):
        sql = f"SELECT count(*) FROM erased_subjects WHERE subject_id = '{dana_id}'"  # noqa: S608
        await eventually(lambda sql=sql, service=service: _count(databases[service], sql, 1), timeout=WAIT)

    async def nowhere() -> dict[str, dict[str, int]] | None:
        found = {name: await rows_mentioning(url, DANA.name, DANA.email) for name, url in databases.items()}
        return None if any(found.values()) else found

    await eventually(nowhere, timeout=WAIT)
    assert await rows_mentioning(databases["matching"], ERIK.name)  # the others are all still there
    assert await rows_mentioning(databases["notifications"], BERIT.email)


async def test_an_erased_originator_appears_in_no_table_even_after_their_initiative_events_come_again(
    platform: tuple[RunningServices, dict[str, str], httpx.AsyncClient], kafka_bootstrap: str, topic_namespace: str
) -> None:
    """A coordinator erases the originator's contact while the group forms. Intake's initiative events that
    named them are then delivered again (as after a lost processed mark: a new event id), and the group forms
    afterwards: nothing brings them back, no email goes to them, and GroupFormed introduces no contact."""
    services, databases, client = platform
    api = services.api
    originator = INITIATIVE["originator"]
    contact = (originator["contact_name"], originator["contact_email"], originator["contact_phone"])
    for person in (BERIT, MARIA, DANA, ERIK):
        added = await client.post(f"{api['resources']}/api/v1/resources/direct", json=person.profile(), headers=STAFF)
        assert added.status_code == 201, added.text
    await eventually(lambda: _count(databases["matching"], "SELECT count(*) FROM resources", 4), timeout=WAIT)
    submitted = await client.post(
        f"{api['intake']}/api/v1/initiatives", json=INITIATIVE, headers={"Idempotency-Key": str(uuid.uuid4())}
    )
    initiative = submitted.json()["id"]
    accepted = await client.post(f"{api['intake']}/api/v1/initiatives/{initiative}/accept", headers=STAFF)
    assert accepted.status_code == 200, accepted.text
    (group,) = await eventually(lambda: _groups(client, api["matching"], initiative), timeout=WAIT)
    confirmed = await client.post(f"{api['matching']}/api/v1/groups/{group['id']}/confirm", headers=STAFF)
    assert confirmed.status_code == 200, confirmed.text
    members = [p for p in (BERIT, MARIA, DANA, ERIK) if p.name in {m["name"] for m in group["members"]}]
    invitations = {p.email: await services.mailbox.one(p.email, _subject(p, "invitation")) for p in members}
    await eventually(
        lambda: len(services.mailbox.to(originator["contact_email"])) >= 2, timeout=WAIT
    )  # receipt, accepted
    assert await rows_mentioning(databases["matching"], *contact)  # matching keeps the contact for GroupFormed
    sent_before = await query(
        databases["intake"],
        "SELECT topic, key, envelope FROM outbox WHERE event_type IN ('InitiativeSubmitted', 'InitiativeAccepted')",
    )
    assert len(sent_before) == 2

    erased = await client.post(f"{api['intake']}/api/v1/initiatives/{initiative}/erase-originator", headers=STAFF)
    assert erased.status_code == 200 and erased.json()["originator"]["contact_erased"], erased.text
    for service in ("matching", "notifications"):
        sql = f"SELECT count(*) FROM erased_subjects WHERE kind = 'originator' AND subject_id = '{initiative}'"  # noqa: S608
        await eventually(lambda sql=sql, service=service: _count(databases[service], sql, 1), timeout=WAIT)

    redelivered = "SELECT count(*) FROM processed_events WHERE event_type = 'InitiativeAccepted'"
    before = {s: await query_value(databases[s], redelivered) for s in ("matching", "notifications")}
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:  # the same events again, as new deliveries
        for row in sent_before:
            envelope = json.loads(row["envelope"]) | {"event_id": str(uuid.uuid4())}
            topic = topic_namespace + row["topic"]
            await producer.send_and_wait(topic, json.dumps(envelope).encode(), key=row["key"].encode())
    finally:
        await producer.stop()
    for service in ("matching", "notifications"):  # both consumed the acceptance again (and what came before it)
        await eventually(
            lambda service=service: _at_least(databases[service], redelivered, before[service] + 1), timeout=WAIT
        )

    for person in members:  # everyone accepts: the group is formed after the erasure
        label = "Accept:" if person is BERIT else "Tacka ja:"
        token = link_after(invitations[person.email], label).rsplit("/", 1)[1]
        answered = await client.post(f"{api['matching']}/api/v1/invitations/{token}")
        assert answered.status_code == 200, answered.text
    formed = [await services.mailbox.one(p.email, _subject(p, "formed")) for p in members]
    assert not [m for m in formed if any(c in text_of(m) for c in contact)]

    async def nowhere() -> dict[str, dict[str, int]] | None:
        found = {name: await rows_mentioning(url, *contact) for name, url in databases.items()}
        return None if any(found.values()) else found

    await eventually(nowhere, timeout=WAIT)
    assert len(services.mailbox.to(originator["contact_email"])) == 2  # nothing more went to them
    groups_topic = topic_namespace + Topic.GROUPS
    records = await read_records(kafka_bootstrap, groups_topic, lambda rs: any(b"GroupFormed" in r.value for r in rs))
    (group_formed,) = [json.loads(r.value) for r in records if b"GroupFormed" in r.value]
    roles = [m["role"] for m in group_formed["payload"]["members"]]
    assert "originator_contact" not in roles and len(roles) == len(members)  # introduced to nobody erased
    assert not [c for c in contact if c in json.dumps(group_formed)]
    assert await rows_mentioning(databases["matching"], BERIT.name)  # the members are all still there


def _subject(person: Any, email: str) -> str:
    english = person.language == "en"
    if email == "invitation":
        return f"Invitation to a working group: {TITLE}" if english else f"Inbjudan till arbetsgrupp: {TITLE}"
    return f"The working group for {TITLE} is formed" if english else f"Arbetsgruppen för {TITLE} är bildad"


async def _at_least(database_url: str, sql: str, expected: int) -> bool:
    return bool(await query_value(database_url, sql) >= expected)


async def _count(database_url: str, sql: str, expected: int) -> bool:
    return bool(await query_value(database_url, sql) == expected)


async def _groups(client: httpx.AsyncClient, matching: str, initiative: str) -> list[dict[str, Any]]:
    answer = await client.get(f"{matching}/api/v1/groups", params={"initiative_id": initiative}, headers=STAFF)
    return answer.json()["items"]  # type: ignore[no-any-return]
