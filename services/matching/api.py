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
    SwapIn,
)
from shared.auth import CoordinatorDep
from shared.db import Clock
from shared.links import InvalidLink
from shared.messagebus import MessageBus
from shared.service import BusDep, from_state
from shared.web import RateLimit

CONFLICT: dict[int | str, dict[str, Any]] = {409: {"description": "illegal in the current status, or against a rule"}}
ClockDep = Annotated[Clock, Depends(from_state("clock"))]
LINK_LIMIT = [Depends(RateLimit("matching:invitations"))]  # the invitation links, on both routers

router = APIRouter()


async def infeasible(_: Request, exc: Infeasible) -> JSONResponse:
    """No group can be formed from the pool as it is: 409, the reason in the detail (bootstrap registers it)."""
    return JSONResponse({"detail": str(exc), "current_status": "no_group_possible"}, status_code=409)


async def group_out(bus: MessageBus[Any], group_id: uuid.UUID) -> GroupOut:
    return GroupOut.from_domain(await bus.handle(GetGroup(group_id)))


# Coordinators ------------------------------------------------------------------------------------


@router.get("/api/v1/groups", tags=["coordinators"], summary="Groups (proposals first), by initiative or status")
async def list_groups(
    bus: BusDep,
    _: CoordinatorDep,
    initiative_id: uuid.UUID | None = None,
    status_: Annotated[GroupStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> GroupPage:
    return GroupPage.from_domain(await bus.handle(FindGroups(initiative_id, status_, limit, offset)), limit, offset)


@router.get("/api/v1/groups/{group_id}", tags=["coordinators"], summary="A group with members and reasons")
async def get_group(group_id: uuid.UUID, bus: BusDep, _: CoordinatorDep) -> GroupOut:
    return await group_out(bus, group_id)


@router.post("/api/v1/groups/{group_id}/confirm", tags=["coordinators"], responses=CONFLICT)
async def confirm(group_id: uuid.UUID, bus: BusDep, staff: CoordinatorDep) -> GroupOut:
    """Confirm the proposal: every member is invited by email."""
    await bus.handle(ConfirmGroup(group_id, staff.subject))
    return await group_out(bus, group_id)


@router.get(
    "/api/v1/groups/{group_id}/members/{resource_id}/replacements",
    tags=["coordinators"],
    summary="The best people to take this member's seat under the rules, best first",
)
async def suggest(
    group_id: uuid.UUID,
    resource_id: uuid.UUID,
    bus: BusDep,
    _: CoordinatorDep,
    limit: Annotated[int, Query(ge=1, le=20)] = 5,
) -> list[CandidateOut]:
    found = await bus.handle(SuggestReplacements(group_id, resource_id, limit))
    return [CandidateOut.from_domain(person, explanation) for person, explanation in found]


@router.post("/api/v1/groups/{group_id}/members/{resource_id}/swap", tags=["coordinators"], responses=CONFLICT)
async def swap(
    group_id: uuid.UUID,
    resource_id: uuid.UUID,
    bus: BusDep,
    _: CoordinatorDep,
    body: Annotated[SwapIn | None, Body()] = None,
) -> GroupOut:
    """Swap a proposed member for the best replacement, or for the person named."""
    await bus.handle(body.to_command(group_id, resource_id) if body else SwapMember(group_id, resource_id))
    return await group_out(bus, group_id)


@router.delete("/api/v1/groups/{group_id}/members/{resource_id}", tags=["coordinators"], responses=CONFLICT)
async def remove(group_id: uuid.UUID, resource_id: uuid.UUID, bus: BusDep, _: CoordinatorDep) -> GroupOut:
    """Take a member out of a proposal (refused when the group would break a rule)."""
    await bus.handle(RemoveMember(group_id, resource_id))
    return await group_out(bus, group_id)


@router.post("/api/v1/groups/batch", tags=["coordinators"], summary="Propose groups for many initiatives at once")
async def batch(body: BatchIn, bus: BusDep, _: CoordinatorDep) -> list[BatchItem]:
    """Capacity is shared across the batch (nobody is booked beyond it); the scarcest initiatives choose first."""
    items = []
    for initiative_id, outcome in await bus.handle(body.to_command()):
        if isinstance(outcome, Group):
            items.append(BatchItem(initiative_id=initiative_id, group=await group_out(bus, outcome.id), problem=None))
        else:
            items.append(BatchItem(initiative_id=initiative_id, group=None, problem=outcome))
    return items


@router.get("/api/v1/initiatives/{initiative_id}", tags=["coordinators"], summary="An accepted initiative's group")
async def initiative(initiative_id: uuid.UUID, bus: BusDep, _: CoordinatorDep) -> InitiativeOut:
    found, group = await bus.handle(GetInitiative(initiative_id))
    return InitiativeOut.from_domain(found, group)


@router.post(
    "/api/v1/initiatives/{initiative_id}/propose",
    tags=["coordinators"],
    status_code=status.HTTP_201_CREATED,
    responses=CONFLICT,
    summary="Propose a group now (again: the current proposal is replaced)",
)
async def propose_now(initiative_id: uuid.UUID, bus: BusDep, _: CoordinatorDep) -> GroupOut:
    group: Group = await bus.handle(ProposeGroup(initiative_id))
    return await group_out(bus, group.id)


# Invited members ---------------------------------------------------------------------------------


async def read_invitation(bus: MessageBus[Any], token: str) -> InvitationDetails:
    try:
        found: InvitationDetails = await bus.handle(GetInvitation(token))
    except InvalidLink:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "this link is not valid") from None
    return found


@router.get("/api/v1/invitations/{token}", tags=["members"], dependencies=LINK_LIMIT)
async def invitation(token: str, bus: BusDep, clock: ClockDep) -> InvitationOut:
    """What the link shows; it never changes anything."""
    return InvitationOut.from_domain(await read_invitation(bus, token), clock())


@router.post("/api/v1/invitations/{token}", tags=["members"], dependencies=LINK_LIMIT, responses=CONFLICT)
async def answer(token: str, bus: BusDep, clock: ClockDep) -> InvitationOut:
    """Accept or decline (the link says which), once."""
    await read_invitation(bus, token)
    await bus.handle(AnswerInvitation(token))
    return InvitationOut.from_domain(await read_invitation(bus, token), clock())
