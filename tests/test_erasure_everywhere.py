"""Erased means erased, everywhere: after a member of a working group asks to be erased, their name and email
are in no table of any service (every table's every column read as text on PostgreSQL), and the group goes on
without them. On the real parts: the four services under uvicorn, Kafka, PostgreSQL and an SMTP server.

`shared.testing.rows_mentioning` is the scan; the fault suite uses it too."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from shared.auth import issue_local_token
from shared.settings import PlatformSettings
from shared.testing import (
    SERVICES,
    RunningServices,
    eventually,
    links_in,
    query_value,
    rows_mentioning,
    running_services,
)
from tests.test_platform_journey import BERIT, DANA, ERIK, INITIATIVE, MARIA

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

    token = profile_link.rsplit("/", 1)[1]
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


async def _count(database_url: str, sql: str, expected: int) -> bool:
    return bool(await query_value(database_url, sql) == expected)


async def _groups(client: httpx.AsyncClient, matching: str, initiative: str) -> list[dict[str, Any]]:
    answer = await client.get(f"{matching}/api/v1/groups", params={"initiative_id": initiative}, headers=STAFF)
    return answer.json()["items"]  # type: ignore[no-any-return]
