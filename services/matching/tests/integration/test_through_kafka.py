"""Matching on the real broker, as a coordinator and the members would live it: an initiative is
accepted, a proposal with reasons follows within a second, the coordinator confirms, members answer
from their links, one declines and is replaced, and GroupFormed is on the topic. And replays change nothing."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from services.matching.bootstrap import create_app
from services.matching.tests.conftest import Matching
from services.matching.tests.factories import accepted, registered, team
from shared.contracts import Envelope, Topic
from shared.contracts.initiatives import InitiativeWithdrawn
from shared.contracts.resources import ResourceErased, ResourceUpdated
from shared.settings import PlatformSettings
from shared.testing import eventually, read_records

pytestmark = pytest.mark.integration
WEB = str(PlatformSettings().web_public_url).rstrip("/")  # where the links in the events open pages


async def group_events(matching: Matching, until: Any) -> list[Envelope]:
    records = await read_records(
        matching.bootstrap,
        matching.namespace + Topic.GROUPS,
        until=lambda rs: until([Envelope.model_validate_json(r.value) for r in rs]),
    )
    return [Envelope.model_validate_json(r.value) for r in records]


def of_type(envelopes: list[Envelope], event_type: str) -> list[dict[str, Any]]:
    return [e.payload for e in envelopes if e.event_type == event_type]


async def projected(matching: Matching, table: str, count: int) -> bool:
    return bool(await matching.scalar(f"SELECT count(*) FROM {table}") == count)  # noqa: S608


def link_path(url: str) -> str:
    """The JSON endpoint behind an invitation link (the link opens the web's page, which asks it)."""
    assert url.startswith(f"{WEB}/invitations/"), url
    return "/api/v1/invitations/" + url.removeprefix(f"{WEB}/invitations/")


async def test_accept_propose_confirm_answer_decline_replace_and_form_over_kafka(matching: Matching) -> None:
    people = team()
    await matching.publish(*people)
    await eventually(lambda: projected(matching, "resources", len(people)))

    initiative = accepted(group_size_min=3, group_size_max=3)
    await matching.publish(initiative)
    (group,) = await eventually(lambda: matching.groups(initiative.initiative_id), interval=0.02)
    assert all(m["explanation"]["text"] for m in group["members"])

    confirmed = await matching.client.post(f"/api/v1/groups/{group['id']}/confirm", headers=matching.coordinator)
    assert confirmed.status_code == 200
    envelopes = await group_events(matching, lambda es: len(of_type(es, "MemberInvited")) == 3)
    assert [e.event_type for e in envelopes] == ["GroupProposed", "GroupConfirmed", *["MemberInvited"] * 3]
    invitations = of_type(envelopes, "MemberInvited")

    decliner, *accepters = invitations
    for invitation in accepters:
        assert (await matching.client.post(link_path(invitation["accept_url"]))).status_code == 200
    assert (await matching.client.post(link_path(decliner["decline_url"]))).status_code == 200

    envelopes = await group_events(matching, lambda es: len(of_type(es, "MemberInvited")) == 4)
    (declined,) = of_type(envelopes, "MemberDeclined")
    (replaced,) = of_type(envelopes, "MemberReplaced")
    assert declined["reason"] == "declined" and declined["member"]["name"] == decliner["member"]["name"]
    assert replaced["previous"]["resource_id"] == decliner["member"]["resource_id"]
    newcomer = of_type(envelopes, "MemberInvited")[-1]
    assert newcomer["member"]["resource_id"] == replaced["replacement"]["resource_id"]
    assert newcomer["member"]["role"] == decliner["member"]["role"]  # a representative is replaced by one
    assert of_type(envelopes, "GroupFormed") == []

    assert (await matching.client.post(link_path(newcomer["accept_url"]))).status_code == 200
    envelopes = await group_events(matching, lambda es: bool(of_type(es, "GroupFormed")))
    (formed,) = of_type(envelopes, "GroupFormed")
    roles = [m["role"] for m in formed["members"]]
    assert roles.count("originator_contact") == 1 and roles.count("municipality_representative") == 1
    assert len(formed["members"]) == 4
    contact = next(m for m in formed["members"] if m["role"] == "originator_contact")
    assert contact["email"] == "anna.andersson@acme.example" and contact["phone"] == "+46701234567"
    assert all(m["email"] for m in formed["members"])  # they can reach each other
    assert {m["resource_id"] for m in formed["members"] if m["resource_id"]} == {
        *(i["member"]["resource_id"] for i in accepters),
        newcomer["member"]["resource_id"],
    }
    assert len(of_type(envelopes, "MemberAccepted")) == 3
    records = await read_records(matching.bootstrap, matching.namespace + Topic.GROUPS, until=lambda rs: len(rs) >= 10)
    assert {r.key for r in records} == {group["id"].encode()}  # keyed by group: one partition, in order


async def test_the_same_events_delivered_twice_make_one_proposal(matching: Matching) -> None:
    people = team()
    await matching.publish(*people)
    await eventually(lambda: projected(matching, "resources", len(people)))
    initiative = accepted()
    (once,) = await matching.publish(initiative)
    await matching.publish(once, key=str(initiative.initiative_id))
    await matching.publish(accepted(initiative.initiative_id))  # the same acceptance in a new envelope

    # The redelivery sits between the two acceptances on the initiative's partition: once the second is
    # processed, the first was seen twice.
    await eventually(lambda: projected(matching, "processed_events", len(people) + 2))
    assert await matching.scalar("SELECT count(*) FROM resources") == len(people)
    assert await matching.scalar("SELECT count(*) FROM groups") == 1
    assert len(await matching.outbox("GroupProposed")) == 1
    assert await matching.scalar("SELECT sum(load) FROM resources") == len(
        (await matching.groups(initiative.initiative_id))[0]["members"]
    )


async def test_a_withdrawn_initiative_dissolves_its_group_and_frees_the_people(matching: Matching) -> None:
    await matching.publish(*team())
    await eventually(lambda: projected(matching, "resources", len(team())))
    initiative = accepted()
    await matching.publish(initiative)
    (group,) = await eventually(lambda: matching.groups(initiative.initiative_id))
    withdrawn = InitiativeWithdrawn(
        **accepted(initiative.initiative_id).model_dump(exclude={"decided_by", "status"}),
        status="withdrawn",
        withdrawn_by="originator",
    )
    await matching.publish(withdrawn, withdrawn)
    envelopes = await group_events(matching, lambda es: bool(of_type(es, "GroupDissolved")))
    (dissolved,) = of_type(envelopes, "GroupDissolved")
    assert dissolved["group_id"] == group["id"] and dissolved["reason"] == "initiative withdrawn"
    assert await matching.scalar("SELECT sum(load) FROM resources") == 0


async def test_the_projections_are_rebuilt_by_replaying_the_topics_from_the_start(
    matching: Matching, service_database: Any
) -> None:
    people = [*team(), registered("Sara Senare", "Senare AB")]
    paused = ResourceUpdated(
        resource_id=people[0].resource_id, profile=people[0].profile, profile_url="x", active=False
    )
    await matching.publish(*people, paused, ResourceErased(resource_id=people[1].resource_id))
    await eventually(lambda: projected(matching, "processed_events", len(people) + 2))
    original = await matching.rows("SELECT id, name, active, load, capacity FROM resources ORDER BY id")

    # A fresh database under a new consumer group reads every topic from the start.
    settings = matching.settings.model_copy(
        update={"database_url": await service_database("matching"), "consumer_group": "matching-rebuild"}
    )
    rebuilt = create_app(settings, matching.clock)
    async with rebuilt.router.lifespan_context(rebuilt):
        engine = create_async_engine(settings.database_url)

        async def rows() -> list[Any]:
            async with engine.connect() as connection:
                found = await connection.execute(
                    text("SELECT id, name, active, load, capacity FROM resources ORDER BY id")
                )
                return [tuple(r) for r in found]

        assert await eventually(lambda: _equal(rows, original)) is True
        await engine.dispose()
    assert len(original) == len(people) - 1 and not dict((r[1], r[2]) for r in original)["Maria Kommun"]


async def _equal(rows: Any, expected: list[Any]) -> bool:
    return bool(await rows() == expected)


async def test_no_group_possible_is_on_the_topic_keyed_by_initiative_and_a_registration_brings_the_proposal(
    matching: Matching,
) -> None:
    initiative = accepted()
    await matching.publish(initiative)  # nobody in the pool yet
    envelopes = await group_events(matching, lambda es: bool(of_type(es, "GroupFormationBlocked")))
    (blocked,) = of_type(envelopes, "GroupFormationBlocked")
    assert blocked["initiative_id"] == str(initiative.initiative_id) and blocked["people_free"] == 0
    assert blocked["missing"] == ["municipality_representative", "people", "competences"]
    records = await read_records(matching.bootstrap, matching.namespace + Topic.GROUPS, until=lambda rs: len(rs) >= 1)
    assert records[0].key == str(initiative.initiative_id).encode()

    await matching.publish(*team())
    envelopes = await group_events(matching, lambda es: bool(of_type(es, "GroupProposed")))
    (proposed,) = of_type(envelopes, "GroupProposed")
    assert proposed["initiative_id"] == str(initiative.initiative_id)
