"""Matching's HTTP API: the coordinators' routes over proposals and groups, and the invited members'
answers. Each route turns the request into a command or query for the bus."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Query, Request, status
from fastapi.responses import JSONResponse

from services.matching.domain.group import Group, GroupStatus
from services.matching.domain.solver import Infeasible
from services.matching.handlers import (
    AnswerInvitation,
    ConfirmGroup,
    FindGroups,
    GetGroup,
    GetInitiative,
    GetInvitation,
    InvitationDetails,
    ProposeGroup,
    RemoveMember,
    ResendInvitation,
    SuggestReplacements,
    SwapMember,
)
from services.matching.schemas import (
    BatchIn,
    BatchItem,
    CandidateOut,
    GroupOut,
    GroupPage,
    InitiativeOut,
    InvitationOut,
    InvitationResent,
    SwapIn,
)
from shared.auth import CoordinatorDep, StaffReaderDep
from shared.db import Clock
from shared.links import InvalidLink
from shared.messagebus import MessageBus
from shared.openapi import CONFLICT, NOT_FOUND, RATE_LIMITED, TOO_LARGE, ConflictProblem, Responses
from shared.service import BusDep, from_state
from shared.web import RateLimit

ClockDep = Annotated[Clock, Depends(from_state("clock"))]


async def infeasible(_: Request, exc: Infeasible) -> JSONResponse:
    """No group can be formed from the pool as it is: 409, the reason in the detail (bootstrap registers it)."""
    return JSONResponse({"detail": str(exc), "current_status": "no_group_possible"}, status_code=409)


async def group_out(bus: MessageBus[Any], group_id: uuid.UUID) -> GroupOut:
    return GroupOut.from_domain(await bus.handle(GetGroup(group_id)))


# Coordinators ------------------------------------------------------------------------------------
coordinators = APIRouter(tags=["coordinators"])
NO_GROUP_POSSIBLE: Responses = {
    409: {
        "model": ConflictProblem,
        "description": "Not allowed in the current state (the body names it), or no group can be formed from the "
        "people free now (current_status `no_group_possible`, the reason in the detail)",
    }
}


@coordinators.get("/api/v1/groups", summary="Groups (newest first), by initiative or status")
async def list_groups(
    bus: BusDep,
    _: StaffReaderDep,
    initiative_id: Annotated[uuid.UUID | None, Query(description="only this initiative's groups")] = None,
    status_: Annotated[GroupStatus | None, Query(alias="status", description="only groups in this status")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> GroupPage:
    """Every group matching made, with members and why each was chosen; coordinators, and operators to read.
    Asked for one initiative that has no group, `formation_problem` says what is lacking (matching proposes
    as soon as someone becomes available)."""
    return GroupPage.from_domain(await bus.handle(FindGroups(initiative_id, status_, limit, offset)), limit, offset)


@coordinators.get("/api/v1/groups/{group_id}", summary="A group with members and reasons", responses=NOT_FOUND)
async def get_group(group_id: uuid.UUID, bus: BusDep, _: StaffReaderDep) -> GroupOut:
    """The group's members and former members, each with the explanation of why they were chosen, and where
    each invitation stands; coordinators, and operators to read. The `review_url` of GroupProposed opens it."""
    return await group_out(bus, group_id)


@coordinators.post(
    "/api/v1/groups/{group_id}/confirm",
    summary="Confirm a proposal: the members are invited",
    responses={**NOT_FOUND, **CONFLICT},
)
async def confirm(group_id: uuid.UUID, bus: BusDep, staff: CoordinatorDep) -> GroupOut:
    """Confirm the proposed group (coordinators only): every member gets an invitation email with accept
    and decline links, valid for the configured days. Once confirmed, the members can no longer be
    swapped here: a declined seat goes to the best replacement by itself."""
    await bus.handle(ConfirmGroup(group_id, staff.subject))
    return await group_out(bus, group_id)


@coordinators.get(
    "/api/v1/groups/{group_id}/members/{resource_id}/replacements",
    summary="The best people to take this member's seat, best first",
    responses=NOT_FOUND,
)
async def suggest(
    group_id: uuid.UUID,
    resource_id: uuid.UUID,
    bus: BusDep,
    _: CoordinatorDep,
    limit: Annotated[int, Query(ge=1, le=20, description="how many to suggest")] = 5,
) -> list[CandidateOut]:
    """Who could take this member's seat under the group's rules (free, other organisations, a
    municipality representative kept), best first with the reason; coordinators only. Nothing changes:
    swap to use one."""
    found = await bus.handle(SuggestReplacements(group_id, resource_id, limit))
    return [CandidateOut.from_domain(person, explanation) for person, explanation in found]


@coordinators.post(
    "/api/v1/groups/{group_id}/members/{resource_id}/swap",
    summary="Swap a member of a proposal",
    responses={**NOT_FOUND, **CONFLICT, **TOO_LARGE},
)
async def swap(
    group_id: uuid.UUID,
    resource_id: uuid.UUID,
    bus: BusDep,
    _: CoordinatorDep,
    body: Annotated[SwapIn | None, Body()] = None,
) -> GroupOut:
    """Replace a member of a group that is still proposed with the best replacement, or with the person
    named in the body (coordinators only); 409 when that person may not join under the rules or the
    group is already confirmed. Nobody is told until the group is confirmed."""
    await bus.handle(body.to_command(group_id, resource_id) if body else SwapMember(group_id, resource_id))
    return await group_out(bus, group_id)


@coordinators.delete(
    "/api/v1/groups/{group_id}/members/{resource_id}",
    summary="Take a member out of a proposal",
    responses={**NOT_FOUND, **CONFLICT},
)
async def remove(group_id: uuid.UUID, resource_id: uuid.UUID, bus: BusDep, _: CoordinatorDep) -> GroupOut:
    """Remove a member from a group that is still proposed, without a replacement (coordinators only);
    409 when the group would fall below its minimum size or lose its municipality representative: swap
    instead."""
    await bus.handle(RemoveMember(group_id, resource_id))
    return await group_out(bus, group_id)


@coordinators.post(
    "/api/v1/groups/batch",
    summary="Propose groups for many initiatives at once",
    responses=TOO_LARGE,
)
async def batch(body: BatchIn, bus: BusDep, _: CoordinatorDep) -> list[BatchItem]:
    """Propose a group for each accepted initiative named that has none yet (coordinators only). Capacity
    is shared across the batch, so nobody is booked beyond it, and the initiatives with the scarcest needs
    choose first. Each item gives the new proposal or the reason there is none; coordinators are told
    (GroupFormationBlocked) about an initiative newly blocked."""
    items = []
    for initiative_id, outcome in await bus.handle(body.to_command()):
        if isinstance(outcome, Group):
            items.append(BatchItem(initiative_id=initiative_id, group=await group_out(bus, outcome.id), problem=None))
        else:
            items.append(BatchItem(initiative_id=initiative_id, group=None, problem=outcome))
    return items


@coordinators.get(
    "/api/v1/initiatives/{initiative_id}",
    summary="An accepted initiative: its group, or what is lacking",
    responses=NOT_FOUND,
)
async def initiative(initiative_id: uuid.UUID, bus: BusDep, _: StaffReaderDep) -> InitiativeOut:
    """An initiative as matching knows it (once intake accepted it) with its current group, or, while no
    group can be proposed, what is lacking and how many people are free; coordinators and operators. This is the
    `review_url` of a GroupFormationBlocked event."""
    found, group = await bus.handle(GetInitiative(initiative_id))
    return InitiativeOut.from_domain(found, group)


@coordinators.post(
    "/api/v1/initiatives/{initiative_id}/propose",
    status_code=status.HTTP_201_CREATED,
    responses={**NOT_FOUND, **NO_GROUP_POSSIBLE},
    summary="Propose a group now (again: the current proposal is replaced)",
)
async def propose_now(initiative_id: uuid.UUID, bus: BusDep, _: CoordinatorDep) -> GroupOut:
    """Propose a group for the initiative now (coordinators only); a group that is still only proposed
    is dissolved and replaced by the new proposal. 409 once a group is confirmed, for an initiative no
    longer accepted, or when no group can be formed from the people free (the reason in the detail)."""
    group: Group = await bus.handle(ProposeGroup(initiative_id))
    return await group_out(bus, group.id)


# Invited members ---------------------------------------------------------------------------------
members = APIRouter(tags=["members"], dependencies=[Depends(RateLimit("matching:invitations"))])


async def read_invitation(bus: MessageBus[Any], token: str) -> InvitationDetails:
    try:
        found: InvitationDetails = await bus.handle(GetInvitation(token))
    except InvalidLink:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "this link is not valid") from None
    return found


@members.get(
    "/api/v1/invitations/{token}",
    summary="What an invitation link shows",
    responses={**NOT_FOUND, **RATE_LIMITED},
)
async def invitation(token: str, bus: BusDep, clock: ClockDep) -> InvitationOut:
    """The initiative an invited member is asked to join, why they were chosen, where the invitation stands and
    what the link's button does (accept or decline), with the token of the other answer's link; anyone holding
    the link from the invitation email (it opens the web's page, which asks this). It never changes anything
    (mail scanners open links)."""
    return InvitationOut.from_domain(await read_invitation(bus, token), clock())


@members.post(
    "/api/v1/invitations/{token}",
    summary="Accept or decline an invitation",
    responses={**NOT_FOUND, **CONFLICT, **RATE_LIMITED},
)
async def answer(token: str, bus: BusDep, clock: ClockDep) -> InvitationOut:
    """Answer the invitation as the link says, once (anyone holding the link). When every member has
    accepted, the group is formed: the members and the originator's contact get an email introducing the
    group. A decline sends the seat to the best replacement, who is invited in turn. 409 when already
    answered or expired."""
    await read_invitation(bus, token)
    await bus.handle(AnswerInvitation(token))
    return InvitationOut.from_domain(await read_invitation(bus, token), clock())


@members.post(
    "/api/v1/invitations/{token}/new-link",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Send the invitation again with fresh links (for an expired link)",
    responses={**NOT_FOUND, **CONFLICT, **RATE_LIMITED},
)
async def resend_invitation(token: str, bus: BusDep) -> InvitationResent:
    """For an invited member whose link has expired (anyone holding a genuine link, however old): while the seat
    is open (its group confirmed, not answered, not past the answer-by date) the invitation email goes out again
    to the member's address, with fresh links. 409 with the seat's current state otherwise, 404 for a link that
    is not valid."""
    try:
        await bus.handle(ResendInvitation(token))
    except InvalidLink:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "this link is not valid") from None
    return InvitationResent()


router = APIRouter()
router.include_router(coordinators)
router.include_router(members)
