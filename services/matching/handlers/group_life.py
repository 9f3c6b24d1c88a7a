"""The steps of a group's life that several use cases take: propose, invite, form, lose a member, end.
And the one rule every writer keeps: take the pool lock first (see db/), then read the pool."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import structlog

from services.matching.db import MatchingUnitOfWork, PoolCache
from services.matching.domain.formation import group_from_proposal, replace
from services.matching.domain.group import Group, GroupStatus, Seat, SeatStatus
from services.matching.domain.pool import Pool, PoolView
from services.matching.domain.profiles import Initiative
from services.matching.domain.solver import Infeasible, Proposal, SolverSettings, propose
from services.matching.handlers.contracts import member_of, originator_contact
from services.matching.links import Answer, InvitationLinks
from shared.contracts.groups import (
    GroupDissolved,
    GroupFormed,
    GroupMember,
    GroupProposed,
    MemberDeclined,
    MemberInvited,
    MemberReplaced,
)

log = structlog.get_logger("services.matching.handlers")


async def locked_pool(uow: MatchingUnitOfWork, pool: PoolCache) -> Pool:
    """Take the pool lock for this transaction; the pool then is exactly what is committed."""
    await uow.lock_pool()
    return await pool.current()


def facts(group: Group, initiative: Initiative) -> dict[str, Any]:
    """The fields every group event carries."""
    return {
        "group_id": group.id,
        "initiative_id": initiative.id,
        "initiative_reference": initiative.reference,
        "initiative_title": initiative.title,
    }


async def members(uow: MatchingUnitOfWork, seats: Sequence[Seat]) -> tuple[GroupMember, ...]:
    """The seats' people as group events carry them."""
    people = await uow.resources.many(s.resource_id for s in seats)
    return tuple(member_of(s, people.get(s.resource_id)) for s in seats)


async def store_proposal(
    uow: MatchingUnitOfWork, initiative: Initiative, proposal: Proposal, at: datetime, public_url: str
) -> Group:
    group = group_from_proposal(proposal, uuid.uuid4(), at)
    await uow.groups.add(group)
    await uow.resources.refresh_loads(m.id for m in proposal.members)
    await uow.initiatives.set_problem(initiative.id, None)
    await uow.emit(
        GroupProposed(
            **facts(group, initiative),
            members=await members(uow, group.members),
            uncovered_competences=tuple(c.value for c in group.uncovered),
            review_url=f"{public_url}/api/v1/groups/{group.id}",
        )
    )
    log.info("group.proposed", group_id=str(group.id), initiative_id=str(initiative.id), solver=group.solver)
    return group


async def propose_for(
    uow: MatchingUnitOfWork, pool: Pool, initiative: Initiative, at: datetime, solver: SolverSettings, public_url: str
) -> Group:
    """Propose a group, or record why none can be formed yet (the sweep tries again) and raise."""
    try:
        proposal = propose(initiative.need, pool.view(), settings=solver)
    except Infeasible as refused:
        await uow.initiatives.set_problem(initiative.id, str(refused))
        log.info("group.infeasible", initiative_id=str(initiative.id), reason=str(refused))
        raise
    return await store_proposal(uow, initiative, proposal, at, public_url)


async def invite(
    uow: MatchingUnitOfWork, group: Group, initiative: Initiative, seats: list[Seat], links: InvitationLinks
) -> None:
    for seat, member in zip(seats, await members(uow, seats), strict=True):
        assert seat.expires_at is not None
        await uow.emit(
            MemberInvited(
                **facts(group, initiative),
                member=member,
                initiative_summary=initiative.summary,
                accept_url=links.url(seat.id, Answer.ACCEPT),
                decline_url=links.url(seat.id, Answer.DECLINE),
                expires_at=seat.expires_at,
            )
        )


async def form_if_ready(uow: MatchingUnitOfWork, group: Group, initiative: Initiative, at: datetime) -> None:
    if not group.ready_to_form():
        return
    group.form(at)
    await uow.groups.save(group)
    formed = (originator_contact(initiative), *await members(uow, group.members))
    await uow.emit(GroupFormed(**facts(group, initiative), members=formed))
    log.info("group.formed", group_id=str(group.id), members=len(group.members))


async def depart(
    uow: MatchingUnitOfWork,
    view: PoolView,
    group: Group,
    seat: Seat,
    reason: SeatStatus,
    at: datetime,
    *,
    expires_at: datetime,
    links: InvitationLinks,
) -> None:
    """A member leaves: the best replacement is invited (by `expires_at`) or proposed; the group forms if
    it now can."""
    initiative = await uow.initiatives.get(group.initiative_id)
    leaving = None if reason is SeatStatus.ERASED else await uow.resources.find(seat.resource_id)
    if group.status is GroupStatus.FORMED:  # only erasure reaches a formed group: it keeps its other members
        group.leave(seat.id, reason, at)
        await uow.groups.save(group)
        await uow.resources.refresh_loads([seat.resource_id])
        return
    was_confirmed = group.status is GroupStatus.CONFIRMED
    departure = replace(group, initiative.need, view, seat, reason, at, expires_at)
    await uow.groups.save(group)
    new = departure.replacement
    await uow.resources.refresh_loads([seat.resource_id, *([new.resource_id] if new else [])])
    log.info("member.left", group_id=str(group.id), reason=reason.value, replaced=new is not None)
    if not was_confirmed:
        return
    previous = member_of(seat, leaving)
    await uow.emit(MemberDeclined(**facts(group, initiative), member=previous, reason=reason.value))
    if new is not None:
        (replacement,) = await members(uow, [new])
        await uow.emit(MemberReplaced(**facts(group, initiative), previous=previous, replacement=replacement))
        await invite(uow, group, initiative, [new], links)
    await form_if_ready(uow, group, initiative, at)


async def ended(uow: MatchingUnitOfWork, group: Group, initiative: Initiative) -> None:
    """The group was just closed or dissolved: its members' load falls and everyone hears why."""
    assert group.ended_reason is not None
    await uow.groups.save(group)
    await uow.resources.refresh_loads(s.resource_id for s in group.members)
    await uow.emit(GroupDissolved(**facts(group, initiative), reason=group.ended_reason))
