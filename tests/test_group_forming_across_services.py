"""Intake and matching together on the real broker: a coordinator accepts an initiative in intake,
matching proposes a group, the coordinator confirms it, every member accepts from their link, and the
initiative shows `group_formed` in intake. (Resources is played by events put on its topic.)"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from services.intake.bootstrap import create_app as create_intake
from services.intake.settings import Settings as IntakeSettings
from services.matching.bootstrap import create_app as create_matching
from services.matching.settings import Settings as MatchingSettings
from services.matching.tests.factories import team
from shared.auth import issue_local_token
from shared.contracts import Envelope, Topic
from shared.settings import PlatformSettings
from shared.testing import eventually, read_records

pytestmark = pytest.mark.integration
SECRET = "platform-tests-secret-of-at-least-32-characters"
WEB = "http://web.meetmalmo.test"  # MEETMALMO_WEB_PUBLIC_URL: where the links in the emails open pages


@pytest.fixture
async def services(
    service_database: Callable[[str], Awaitable[str]], kafka_bootstrap: str, topic_namespace: str
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient, str]]:
    platform = PlatformSettings(
        kafka_bootstrap=kafka_bootstrap, topic_namespace=topic_namespace, auth_jwt_secret=SECRET, web_public_url=WEB
    )
    intake = create_intake(IntakeSettings(database_url=await service_database("intake"), platform=platform))
    matching_db = await service_database("matching")
    matching = create_matching(MatchingSettings(database_url=matching_db, sweep_seconds=3600, platform=platform))
    async with (
        intake.router.lifespan_context(intake),
        matching.router.lifespan_context(matching),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=intake), base_url="http://intake.test") as to_intake,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=matching), base_url="http://matching.test") as to_matching,
    ):
        yield to_intake, to_matching, matching_db


def initiative() -> dict[str, Any]:
    return {
        "title": "Sommarjobb för unga i Rosengård",
        "summary": "Företag i Malmö erbjuder sommarjobb till unga i samarbete med staden.",
        "originator": {
            "organisation_name": "Acme Bygg AB",
            "organisation_type": "business",
            "organisation_number": "5560360793",
            "contact_name": "Anna Andersson",
            "contact_email": "anna.andersson@acme.example",
        },
        "themes": ["employment"],
        "seeking": ["collaboration_partners"],
        "competences_needed": ["recruitment", "mentoring"],
        "group_size": {"min": 3, "max": 3},
        "consent": True,
    }


async def test_an_accepted_initiative_becomes_group_formed_in_intake(
    services: tuple[httpx.AsyncClient, httpx.AsyncClient, str], kafka_bootstrap: str, topic_namespace: str
) -> None:
    to_intake, to_matching, matching_db = services
    coordinator = {
        "Authorization": "Bearer "
        + issue_local_token(PlatformSettings(auth_jwt_secret=SECRET), email="eva@malmo.se", roles=["coordinator"])
    }
    people = team()
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        for person in people:
            value = Envelope.wrap(person, producer="resources").model_dump_json().encode()
            await producer.send_and_wait(topic_namespace + Topic.RESOURCES, value, key=person.key().encode())
    finally:
        await producer.stop()
    engine = create_async_engine(matching_db)

    async def resources_known() -> bool:
        async with engine.connect() as connection:
            return bool(await connection.scalar(text("SELECT count(*) FROM resources")) == len(people))

    await eventually(resources_known)
    await engine.dispose()

    submitted = (await to_intake.post("/api/v1/initiatives", json=initiative())).json()
    accepted = await to_intake.post(f"/api/v1/initiatives/{submitted['id']}/accept", headers=coordinator)
    assert accepted.status_code == 200

    async def status() -> str:
        answer = await to_intake.get(f"/api/v1/initiatives/{submitted['id']}", headers=coordinator)
        return str(answer.json()["status"])

    async def proposed() -> list[dict[str, Any]]:
        answer = await to_matching.get("/api/v1/groups", params={"initiative_id": submitted["id"]}, headers=coordinator)
        return answer.json()["items"]  # type: ignore[no-any-return]

    (group,) = await eventually(proposed)
    await eventually(lambda: _is(status, "group_forming"))
    assert (await to_matching.post(f"/api/v1/groups/{group['id']}/confirm", headers=coordinator)).status_code == 200

    records = await read_records(
        kafka_bootstrap,
        topic_namespace + Topic.GROUPS,
        until=lambda rs: sum(b'"MemberInvited"' in r.value for r in rs) == 3,
    )
    for record in records:
        envelope = Envelope.model_validate_json(record.value)
        if envelope.event_type == "MemberInvited":
            # The link opens the web's page (MEETMALMO_WEB_PUBLIC_URL), whose button posts the token here.
            token = str(envelope.payload["accept_url"]).removeprefix(f"{WEB}/invitations/")
            assert (await to_matching.post(f"/api/v1/invitations/{token}")).status_code == 200

    await eventually(lambda: _is(status, "group_formed"))
    assert uuid.UUID(group["id"])


async def _is(status: Callable[[], Awaitable[str]], expected: str) -> bool:
    return await status() == expected
