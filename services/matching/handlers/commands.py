"""What coordinators and invited members ask of matching: propose (one, or many at once), swap and remove
members of a proposal, confirm it (the members are invited), answer an invitation. Each handler is one
transaction that takes the pool lock first."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from services.matching.db import MatchingUnitOfWork, PoolCache
from services.matching.domain.formation import propose_many, remove, swap
from services.matching.domain.group import Group, GroupStatus, SeatStatus
from services.matching.domain.profiles import Initiative, InitiativeStatus
from services.matching.domain.solver import Infeasible, SolverSettings, propose
from services.matching.handlers.group_life import (
    depart,
    ended,
    facts,
    form_if_ready,
    invite,
    locked_pool,
    log,
    members,
    store_proposal,
)
from services.matching.links import Answer, InvitationLinks
from shared.contracts.groups import GroupConfirmed, MemberAccepted
from shared.db import Clock
from shared.errors import InvalidTransition


@dataclass(frozen=True)
class ProposeGroup:
    """A proposal on demand: for an initiative still waiting, or instead of the current proposal."""

    initiative_id: uuid.UUID


@dataclass(frozen=True)
class ProposeGroups:
    """Groups for several initiatives at once, sharing capacity (see formation.propose_many)."""

    initiative_ids: tuple[uuid.UUID, ...]


@dataclass(frozen=True)
class SwapMember:
    """Swap a proposed member for the best replacement, or for the person named."""

    group_id: uuid.UUID
    resource_id: uuid.UUID
    replacement_id: uuid.UUID | None = None


@dataclass(frozen=True)
class RemoveMember:
    group_id: uuid.UUID
    resource_id: uuid.UUID


@dataclass(frozen=True)
class ConfirmGroup:
    group_id: uuid.UUID
    by: str


@dataclass(frozen=True)
class AnswerInvitation:
    """The button on the invitation page: accept or decline (the link says which), once."""

    token: str


BatchOutcome = list[tuple[uuid.UUID, Group | str]]
"""Per initiative asked, in the order asked: its new group, or why none was proposed."""


async def propose_group(
    command: ProposeGroup,
    uow: MatchingUnitOfWork,
    pool: PoolCache,
    clock: Clock,
    solver: SolverSettings,
    public_url: str,
) -> Group:
    async with uow:
        view = (await locked_pool(uow, pool)).view()
        at = clock()
        initiative = await uow.initiatives.get(command.initiative_id)
        if initiative.status is not InitiativeStatus.ACCEPTED:
            raise InvalidTransition("initiative", initiative.status, "form a group for")
        current = await uow.groups.live_for(command.initiative_id)
        if current is not None and current.status is not GroupStatus.PROPOSED:
            raise InvalidTransition("group", current.status.value, "propose another group instead of")
        if current is not None:  # superseded: its people are free for the new proposal
            for seat in current.members:
                view.add_load(seat.resource_id, -1)
        proposal = propose(initiative.need, view, settings=solver)
        if current is not None:
            current.dissolve("superseded by a new proposal", at)
            await ended(uow, current, initiative)
        group = await store_proposal(uow, initiative, proposal, at, public_url)
        await uow.commit()
    return group


async def propose_groups(
    command: ProposeGroups,
    uow: MatchingUnitOfWork,
    pool: PoolCache,
    clock: Clock,
    solver: SolverSettings,
    public_url: str,
) -> BatchOutcome:
    async with uow:
        current_pool = await locked_pool(uow, pool)
        at = clock()
        results: dict[uuid.UUID, Group | str] = {}
        initiatives: dict[uuid.UUID, Initiative] = {}
        asked = list(dict.fromkeys(command.initiative_ids))  # in the order asked, each once
        for initiative_id in asked:
            initiative = await uow.initiatives.find(initiative_id)
            if initiative is None or initiative.status is not InitiativeStatus.ACCEPTED:
                results[initiative_id] = "not an accepted initiative"
            elif (current := await uow.groups.live_for(initiative_id)) is not None:
                results[initiative_id] = f"already has a {current.status.value} group"
            else:
                initiatives[initiative_id] = initiative
        needs = [i.need for i in initiatives.values()]
        for need, outcome in propose_many(needs, current_pool, settings=solver):
            initiative = initiatives[need.initiative_id]
            if isinstance(outcome, Infeasible):
                await uow.initiatives.set_problem(initiative.id, str(outcome))
                results[initiative.id] = str(outcome)
            else:
                results[initiative.id] = await store_proposal(uow, initiative, outcome, at, public_url)
        await uow.commit()
    return [(i, results[i]) for i in asked]


async def swap_member(command: SwapMember, uow: MatchingUnitOfWork, pool: PoolCache, clock: Clock) -> Group:
    async with uow:
        view = (await locked_pool(uow, pool)).view()
        group = await uow.groups.get(command.group_id)
        initiative = await uow.initiatives.get(group.initiative_id)
        new = swap(group, initiative.need, view, command.resource_id, command.replacement_id, clock())
        await uow.groups.save(group)
        await uow.resources.refresh_loads([command.resource_id, new.resource_id])
        await uow.commit()
    return group


async def remove_member(command: RemoveMember, uow: MatchingUnitOfWork, pool: PoolCache, clock: Clock) -> Group:
    async with uow:
        view = (await locked_pool(uow, pool)).view()
        group = await uow.groups.get(command.group_id)
        initiative = await uow.initiatives.get(group.initiative_id)
        remove(group, initiative.need, view, command.resource_id, clock())
        await uow.groups.save(group)
        await uow.resources.refresh_loads([command.resource_id])
        await uow.commit()
    return group


async def confirm_group(
    command: ConfirmGroup,
    uow: MatchingUnitOfWork,
    pool: PoolCache,
    clock: Clock,
    links: InvitationLinks,
    invitation_validity: timedelta,
) -> Group:
    async with uow:
        await locked_pool(uow, pool)
        at = clock()
        group = await uow.groups.get(command.group_id)
        initiative = await uow.initiatives.get(group.initiative_id)
        invited = group.confirm(command.by, at, at + invitation_validity)
        await uow.groups.save(group)
        confirmed = GroupConfirmed(
            **facts(group, initiative), members=await members(uow, group.members), confirmed_by=command.by
        )
        await uow.emit(confirmed)
        await invite(uow, group, initiative, invited, links)
        log.info("group.confirmed", group_id=str(group.id))
        await uow.commit()
    return group


async def answer_invitation(
    command: AnswerInvitation,
    uow: MatchingUnitOfWork,
    pool: PoolCache,
    clock: Clock,
    links: InvitationLinks,
    invitation_validity: timedelta,
) -> None:
    seat_id, answer = links.read(command.token)
    async with uow:
        current = await locked_pool(uow, pool)
        at = clock()
        group = await uow.groups.of_seat(seat_id)
        seat = group.seat(seat_id)
        if seat.status is SeatStatus.INVITED and seat.expires_at is not None and seat.expires_at <= at:
            raise InvalidTransition("invitation", "expired", answer.value)
        if answer is Answer.DECLINE:
            if group.status is not GroupStatus.CONFIRMED or seat.status is not SeatStatus.INVITED:
                raise InvalidTransition("invitation", seat.status.value, "decline")
            expires_at = at + invitation_validity
            await depart(uow, current.view(), group, seat, SeatStatus.DECLINED, at, expires_at=expires_at, links=links)
        else:
            initiative = await uow.initiatives.get(group.initiative_id)
            group.accept(seat_id, at)
            await uow.groups.save(group)
            (member,) = await members(uow, [seat])
            await uow.emit(MemberAccepted(**facts(group, initiative), member=member))
            await form_if_ready(uow, group, initiative, at)
        await uow.commit()
