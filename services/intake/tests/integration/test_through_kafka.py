"""Intake's events on the real broker: one per transition, exactly once, in the envelope; and the
status moved on by matching's group events."""

from __future__ import annotations

import uuid

import pytest
from aiokafka import AIOKafkaProducer

from services.intake.tests.conftest import Intake
from shared.contracts import Envelope, Topic
from shared.contracts.groups import GroupFormed, GroupMember, GroupProposed
from shared.settings import PlatformSettings
from shared.testing import eventually, read_records

pytestmark = pytest.mark.integration


async def test_each_transition_puts_exactly_one_event_on_the_topic(intake: Intake, kafka_bootstrap: str) -> None:
    created = await intake.submit()
    url = f"/api/v1/initiatives/{created['id']}"
    coordinator = intake.coordinator
    await intake.client.post(f"{url}/request-info", json={"message": "Vilka fler?"}, headers=coordinator)
    token = (await intake.scalars("SELECT envelope FROM outbox"))[0].split("/my/initiatives/")[1].split('"')[0]
    await intake.client.post(f"/api/v1/my/initiatives/{token}/answer", json={"answer": "Skolorna"})
    assert (await intake.client.post(f"{url}/accept", headers=coordinator)).status_code == 200
    assert (await intake.client.post(f"{url}/accept", headers=coordinator)).status_code == 409  # no event
    assert (await intake.client.post(f"{url}/close", headers=coordinator)).status_code == 409  # no event

    topic = intake.namespace + Topic.INITIATIVES
    records = await read_records(kafka_bootstrap, topic, until=lambda rs: len(rs) >= 4)
    envelopes = [Envelope.model_validate_json(r.value) for r in records]
    assert [e.event_type for e in envelopes] == [
        "InitiativeSubmitted",
        "InitiativeInfoRequested",
        "InitiativeUpdated",
        "InitiativeAccepted",
    ]
    assert len({e.event_id for e in envelopes}) == 4
    assert {r.key for r in records} == {created["id"].encode()}
    assert all(e.producer == "intake" and e.schema_version == 1 for e in envelopes)
    accepted = envelopes[-1].payload
    assert accepted["status"] == "accepted" and accepted["decided_by"] == "eva.coordinator@malmo.se"
    assert accepted["competences_needed"] == ["recruitment", "mentoring"]
    assert accepted["originator"]["organisation_number"] == "556036-0793"
    assert accepted["status_url"].startswith(f"{str(PlatformSettings().web_public_url).rstrip('/')}/my/initiatives/")
    assert await intake.scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0


async def publish_group_event(kafka_bootstrap: str, intake: Intake, event: GroupProposed | GroupFormed) -> bytes:
    envelope = Envelope.wrap(event, producer="matching").model_dump_json().encode()
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(intake.namespace + Topic.GROUPS, envelope, key=str(event.group_id).encode())
    finally:
        await producer.stop()
    return envelope


async def test_matching_group_events_move_the_initiative_to_group_formed_once(
    intake: Intake, kafka_bootstrap: str
) -> None:
    created = await intake.submit()
    await intake.client.post(f"/api/v1/initiatives/{created['id']}/accept", headers=intake.coordinator)
    group_id, initiative_id = uuid.uuid4(), uuid.UUID(created["id"])
    member = GroupMember(role="resource", name="Bo", email="bo@example.se", organisation_name="Malmö stad")
    facts = {
        "group_id": group_id,
        "initiative_id": initiative_id,
        "initiative_reference": created["reference"],
        "initiative_title": "t",
    }
    proposed = GroupProposed(**facts, members=(member,), review_url="http://127.0.0.1:8003/x")

    async def status() -> str:
        answer = await intake.client.get(f"/api/v1/initiatives/{created['id']}", headers=intake.coordinator)
        return str(answer.json()["status"])

    await publish_group_event(kafka_bootstrap, intake, proposed)
    await eventually(lambda: _is(status, "group_forming"))
    formed = await publish_group_event(kafka_bootstrap, intake, GroupFormed(**facts, members=(member,)))
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)  # the same GroupFormed delivered again
    await producer.start()
    await producer.send_and_wait(intake.namespace + Topic.GROUPS, formed, key=str(group_id).encode())
    await producer.stop()

    await eventually(lambda: _is(status, "group_formed"))
    await eventually(lambda: _processed(intake, 2))
    history = await intake.scalars(
        f"SELECT to_status FROM initiative_history WHERE initiative_id = '{initiative_id}' ORDER BY id"  # noqa: S608
    )
    assert history == ["submitted", "accepted", "group_forming", "group_formed"]


async def _is(status: object, expected: str) -> bool:
    return await status() == expected  # type: ignore[operator,no-any-return]


async def _processed(intake: Intake, count: int) -> bool:
    """Group events processed (intake also processes its own InitiativeSubmitted, for the duplicate hint)."""
    sql = "SELECT count(*) FROM processed_events WHERE event_type LIKE 'Group%'"
    return bool(await intake.scalar(sql) == count)
