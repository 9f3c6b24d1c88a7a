"""Matching's use cases through the message bus over an in-memory unit of work: what they change and the
events they emit (and how a member is told in them), without a database or a broker."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from services.matching.domain.group import GroupStatus, Role, Seat, SeatStatus
from services.matching.domain.profiles import Contact, Resource
from services.matching.domain.rules import explain
from services.matching.handlers import (
    AnswerInvitation,
    ConfirmGroup,
    GetInitiative,
    ProposeGroup,
    SweepGroups,
)
from services.matching.handlers.contracts import member_of
from services.matching.tests.factories import accepted, municipal, need, team
from services.matching.tests.unit.conftest import NOW, WEB_URL, Matching
from shared.contracts.groups import (
    GroupConfirmed,
    GroupFormed,
    GroupProposed,
    MemberAccepted,
    MemberDeclined,
    MemberReplaced,
)
from shared.errors import InvalidTransition
from shared.taxonomy import Competence, OrganisationType


async def test_an_accepted_initiative_with_a_feasible_pool_gets_a_group_proposed(matching: Matching) -> None:
    proposal = await matching.proposed()
    group = matching.store.groups[proposal.group_id]
    assert group.status is GroupStatus.PROPOSED and group.members[0].role is Role.MUNICIPALITY_REPRESENTATIVE
    assert [m.resource_id for m in proposal.members] == [s.resource_id for s in group.members]
    assert proposal.review_url == f"{WEB_URL}/staff/groups/{group.id}"
    assert "Agnes Acme" not in {m.name for m in proposal.members}  # from the originator's organisation
    loads = {r.id: r.load for r in matching.store.resources.values()}
    assert sum(loads.values()) == len(group.members) and all(loads[s.resource_id] == 1 for s in group.members)


async def test_the_same_acceptance_again_makes_no_second_proposal(matching: Matching) -> None:
    proposal = await matching.proposed()
    await matching.consume(accepted(proposal.initiative_id))
    assert len(matching.store.of_type(GroupProposed)) == 1 and len(matching.store.groups) == 1


async def test_an_initiative_the_pool_cannot_serve_waits_and_the_sweep_proposes_it_later(matching: Matching) -> None:
    """The sweep is the fallback for people who are there without an event matching acted on."""
    initiative = accepted()
    await matching.consume(initiative)
    found, group = await matching.bus.handle(GetInitiative(initiative.initiative_id))
    assert group is None and "no municipality representative" in found.formation_problem
    assert matching.proposals() == [] and len(matching.blockages()) == 1  # coordinators are told

    await matching.seed(*team())
    counts = await matching.bus.handle(SweepGroups())
    assert counts == {"expired": 0, "filled": 0, "proposed": 1}
    assert len(matching.store.of_type(GroupProposed)) == 1
    assert matching.store.initiatives[initiative.initiative_id].formation_problem is None


async def test_confirming_emits_group_confirmed_and_one_member_invited_per_seat(matching: Matching) -> None:
    proposal = await matching.proposed()
    await matching.bus.handle(ConfirmGroup(proposal.group_id, "eva.coordinator@malmo.se"))
    group = matching.store.groups[proposal.group_id]
    assert group.status is GroupStatus.CONFIRMED and group.confirmed_by == "eva.coordinator@malmo.se"
    assert all(s.status is SeatStatus.INVITED and s.expires_at == NOW + timedelta(days=7) for s in group.members)
    (confirmed,) = matching.store.of_type(GroupConfirmed)
    assert isinstance(confirmed, GroupConfirmed) and len(confirmed.members) == len(group.members)
    invited = matching.invitations()
    assert sorted(str(i.member.resource_id) for i in invited) == sorted(str(s.resource_id) for s in group.members)
    assert all(i.accept_url.startswith(f"{WEB_URL}/invitations/") for i in invited)
    with pytest.raises(InvalidTransition):
        await matching.bus.handle(ConfirmGroup(proposal.group_id, "eva.coordinator@malmo.se"))
    assert len(matching.invitations()) == len(invited)  # nothing twice


async def test_a_decline_invites_the_best_replacement_for_the_same_role(matching: Matching) -> None:
    proposal = await matching.proposed(group_size_min=3, group_size_max=3)
    await matching.bus.handle(ConfirmGroup(proposal.group_id, "eva.coordinator@malmo.se"))
    decliner = matching.invitations()[0]
    await matching.bus.handle(AnswerInvitation(matching.token(decliner.decline_url)))

    (declined,) = matching.store.of_type(MemberDeclined)
    (replaced,) = matching.store.of_type(MemberReplaced)
    assert isinstance(declined, MemberDeclined) and isinstance(replaced, MemberReplaced)
    assert declined.reason == "declined" and declined.member.resource_id == decliner.member.resource_id
    newcomer = matching.invitations()[-1]
    assert newcomer.member.resource_id == replaced.replacement.resource_id != decliner.member.resource_id
    assert newcomer.member.role == decliner.member.role
    group = matching.store.groups[proposal.group_id]
    assert [s.status for s in group.seats if s.resource_id == decliner.member.resource_id] == [SeatStatus.DECLINED]
    assert decliner.member.resource_id is not None
    assert matching.store.resources[decliner.member.resource_id].load == 0


async def test_the_group_forms_when_every_member_accepts(matching: Matching) -> None:
    proposal = await matching.proposed(group_size_min=3, group_size_max=3)
    await matching.bus.handle(ConfirmGroup(proposal.group_id, "eva.coordinator@malmo.se"))
    *first, last = matching.invitations()
    for invitation in first:
        await matching.bus.handle(AnswerInvitation(matching.token(invitation.accept_url)))
    assert matching.store.of_type(GroupFormed) == []
    await matching.bus.handle(AnswerInvitation(matching.token(last.accept_url)))

    assert len(matching.store.of_type(MemberAccepted)) == 3
    (formed,) = matching.store.of_type(GroupFormed)
    assert isinstance(formed, GroupFormed)
    assert [m.role for m in formed.members].count(Role.ORIGINATOR_CONTACT.value) == 1
    assert matching.store.groups[proposal.group_id].status is GroupStatus.FORMED
    with pytest.raises(InvalidTransition):  # an answer counts once
        await matching.bus.handle(AnswerInvitation(matching.token(last.decline_url)))


async def test_a_new_proposal_on_demand_supersedes_the_current_one(matching: Matching) -> None:
    proposal = await matching.proposed()
    fresh = await matching.bus.handle(ProposeGroup(proposal.initiative_id))
    assert fresh.id != proposal.group_id
    assert matching.store.groups[proposal.group_id].status is GroupStatus.DISSOLVED
    assert len(matching.store.of_type(GroupProposed)) == 2
    await matching.bus.handle(ConfirmGroup(fresh.id, "eva.coordinator@malmo.se"))
    with pytest.raises(InvalidTransition):  # a confirmed group is not replaced
        await matching.bus.handle(ProposeGroup(proposal.initiative_id))


def test_a_member_in_a_group_event_is_told_why_in_their_own_language() -> None:
    """The invitation quotes the explanation: a Swedish email must not explain in English (found by the
    platform journey test), nor an English one in Swedish."""
    why = explain(need(), municipal(1, competences=[Competence.MENTORING]), OrganisationType.MUNICIPALITY)
    seat = Seat(uuid.UUID(int=7), uuid.UUID(int=1), Role.MUNICIPALITY_REPRESENTATIVE, SeatStatus.INVITED, why, NOW)

    def resource(language: str) -> Resource:
        candidate = municipal(1, competences=[Competence.MENTORING])
        return Resource(
            candidate.id,
            Contact("Maria Lind", "maria.lind@malmo.se", None),
            language,
            candidate.organisation,
            "Arbetsmarknadssekreterare",
            candidate.competences,
            candidate.themes,
            frozenset({"sv", "en"}),
            2,
            active=True,
        )

    assert member_of(seat, resource("sv")).explanation.startswith("Kommunens representant. Bidrar med kompetenser")
    assert member_of(seat, resource("en")).explanation.startswith("Municipality representative. Covers needed")
    assert member_of(seat, None).explanation == why.text_in("sv")  # erased: the platform's language
