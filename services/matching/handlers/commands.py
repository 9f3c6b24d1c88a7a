"""What coordinators and invited members ask of matching: propose (one, or many at once), swap and remove
members of a proposal, confirm it (the members are invited), answer an invitation. Each handler is one
transaction that takes the pool lock first."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from services.matching.db import MatchingUnitOfWork
from services.matching.domain.formation import remove, swap
from services.matching.domain.group import Group, GroupStatus, SeatStatus
from services.matching.domain.profiles import Initiative, InitiativeStatus
from services.matching.domain.solver import Infeasible, propose
from services.matching.handlers.group_life import (
    Forming,
    depart,
    ended,
    facts,
    form_if_ready,
    invite,
    locked_pool,
    log,
    members,
    propose_together,
    retry_waiting,
    store_proposal,
)
from services.matching.links import Answer
from shared.contracts.groups import GroupConfirmed, MemberAccepted
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


@dataclass(frozen=True)
class ResendInvitation:
    """The page of an expired invitation link: send the invitation again, with fresh links, while it is open."""

    token: str


BatchOutcome = list[tuple[uuid.UUID, Group | str]]
"""Per initiative asked, in the order asked: its new group, or why none was proposed."""


async def propose_group(command: ProposeGroup, uow: MatchingUnitOfWork, forming: Forming) -> Group:
    async with uow:
        view = (await locked_pool(uow, forming)).view()
        at = forming.clock()
        initiative = await uow.initiatives.get(command.initiative_id)
        if initiative.status is not InitiativeStatus.ACCEPTED:
            raise InvalidTransition("initiative", initiative.status, "form a group for")
        current = await uow.groups.live_for(command.initiative_id)
        if current is not None and current.status is not GroupStatus.PROPOSED:
            raise InvalidTransition("group", current.status.value, "propose another group instead of")
        if current is not None:  # superseded: its people are free for the new proposal
            for seat in current.members:
                view.add_load(seat.resource_id, -1)
        proposal = propose(initiative.need, view, settings=forming.solver)
        if current is not None:
            current.dissolve("superseded by a new proposal", at)
            await ended(uow, current, initiative)
        group = await store_proposal(uow, initiative, proposal, at, forming)
        if current is not None:  # whom the new proposal left out is free again
            await retry_waiting(uow, forming, at)
        await uow.commit()
    return group


async def propose_groups(command: ProposeGroups, uow: MatchingUnitOfWork, forming: Forming) -> BatchOutcome:
    async with uow:
        current_pool = await locked_pool(uow, forming)
        at = forming.clock()
        results: dict[uuid.UUID, Group | str] = {}
        initiatives: list[Initiative] = []
        asked = list(dict.fromkeys(command.initiative_ids))  # in the order asked, each once
        for initiative_id in asked:
            initiative = await uow.initiatives.find(initiative_id)
            if initiative is None or initiative.status is not InitiativeStatus.ACCEPTED:
                results[initiative_id] = "not an accepted initiative"
            elif (current := await uow.groups.live_for(initiative_id)) is not None:
                results[initiative_id] = f"already has a {current.status.value} group"
            else:
                initiatives.append(initiative)
        for initiative_id, outcome in (await propose_together(uow, current_pool, initiatives, at, forming)).items():
            results[initiative_id] = str(outcome) if isinstance(outcome, Infeasible) else outcome
        await uow.commit()
    return [(i, results[i]) for i in asked]


async def swap_member(command: SwapMember, uow: MatchingUnitOfWork, forming: Forming) -> Group:
    async with uow:
        view = (await locked_pool(uow, forming)).view()
        group = await uow.groups.get(command.group_id)
        initiative = await uow.initiatives.get(group.initiative_id)
        new = swap(group, initiative.need, view, command.resource_id, command.replacement_id, forming.clock())
        await uow.groups.save(group)
        await uow.resources.refresh_loads([command.resource_id, new.resource_id])
        await uow.commit()
    return group


async def remove_member(command: RemoveMember, uow: MatchingUnitOfWork, forming: Forming) -> Group:
    async with uow:
        view = (await locked_pool(uow, forming)).view()
        group = await uow.groups.get(command.group_id)
        initiative = await uow.initiatives.get(group.initiative_id)
        remove(group, initiative.need, view, command.resource_id, forming.clock())
        await uow.groups.save(group)
        await uow.resources.refresh_loads([command.resource_id])
        await uow.commit()
    return group


async def confirm_group(command: ConfirmGroup, uow: MatchingUnitOfWork, forming: Forming) -> Group:
    async with uow:
        await locked_pool(uow, forming)
        at = forming.clock()
        group = await uow.groups.get(command.group_id)
        initiative = await uow.initiatives.get(group.initiative_id)
        invited = group.confirm(command.by, at, forming.expiry(at))
        await uow.groups.save(group)
        confirmed = GroupConfirmed(
            **facts(group, initiative), members=await members(uow, group.members), confirmed_by=command.by
        )
        await uow.emit(confirmed)
        await invite(uow, group, initiative, invited, forming)
        log.info("group.confirmed", group_id=str(group.id))
        await uow.commit()
    return group


async def answer_invitation(command: AnswerInvitation, uow: MatchingUnitOfWork, forming: Forming) -> None:
    seat_id, answer = forming.links.read(command.token)
    async with uow:
        current = await locked_pool(uow, forming)
        at = forming.clock()
        group = await uow.groups.of_seat(seat_id)
        seat = group.seat(seat_id)
        if seat.status is SeatStatus.INVITED and seat.expires_at is not None and seat.expires_at <= at:
            raise InvalidTransition("invitation", "expired", answer.value)
        if answer is Answer.DECLINE:
            if group.status is not GroupStatus.CONFIRMED or seat.status is not SeatStatus.INVITED:
                raise InvalidTransition("invitation", seat.status.value, "decline")
            await depart(uow, current.view(), group, seat, SeatStatus.DECLINED, at, forming)
            await retry_waiting(uow, forming, at)  # the decliner has room again
        else:
            initiative = await uow.initiatives.get(group.initiative_id)
            group.accept(seat_id, at)
            await uow.groups.save(group)
            (member,) = await members(uow, [seat])
            await uow.emit(MemberAccepted(**facts(group, initiative), member=member))
            await form_if_ready(uow, group, initiative, at)
        await uow.commit()


async def resend_invitation(command: ResendInvitation, uow: MatchingUnitOfWork, forming: Forming) -> None:
    """The seat's invitation once more (MemberInvited with fresh accept and decline links, to the invited member's
    address only), while the seat is open; InvalidTransition (409) with its state once it is answered, past its
    deadline or its group is no longer being formed. The old links stay one-time by the seat: whichever is used
    first answers it."""
    seat_id = forming.links.seat_at_any_age(command.token)
    async with uow:
        await locked_pool(uow, forming)  # as an answer does: a concurrent answer is seen, not raced
        at = forming.clock()
        group = await uow.groups.of_seat(seat_id)
        seat = group.open_invitation(seat_id, at)
        await invite(uow, group, await uow.initiatives.get(group.initiative_id), [seat], forming)
        await uow.commit()
    log.info("invitation.resent", group_id=str(group.id), seat_id=str(seat_id))
