"""Intake's HTTP API: the portal's submission, the originator's private link, the staff API."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Response, status

from services.intake.handlers import (
    AcceptInitiative,
    CloseInitiative,
    ExportInitiatives,
    FindInitiatives,
    GetInitiative,
    GetInitiativeDetails,
    IdempotencyKeyReused,
)
from services.intake.links import StatusLinks
from services.intake.schemas import (
    Answer,
    FiltersDep,
    InformationRequest,
    InitiativeCreate,
    InitiativeDetail,
    InitiativeReceipt,
    InitiativeSummary,
    OriginatorView,
    Rejection,
    SortOrder,
    Withdrawal,
)
from shared.auth import CoordinatorDep, StaffReaderDep
from shared.links import InvalidLink
from shared.service import BusDep, from_state
from shared.web import Page, RateLimit, csv_response

router = APIRouter()

LinksDep = Annotated[StatusLinks, Depends(from_state("links"))]


def initiative_from_link(links: StatusLinks, token: str) -> uuid.UUID:
    try:
        return links.read_id(token)
    except InvalidLink:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "this link is not valid") from None


# Public: the portal -------------------------------------------------------------------------------


@router.post(
    "/api/v1/initiatives",
    tags=["portal"],
    status_code=status.HTTP_201_CREATED,
    response_model=InitiativeReceipt,
    dependencies=[Depends(RateLimit("intake:submit"))],
    responses={409: {"description": "Idempotency-Key reused for a different request"}, 429: {}},
    summary="Submit an initiative",
)
async def submit(
    body: InitiativeCreate,
    response: Response,
    bus: BusDep,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> InitiativeReceipt:
    try:
        receipt, created = await bus.handle(body.to_command(idempotency_key))
    except IdempotencyKeyReused as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    response.headers["Location"] = f"/api/v1/initiatives/{receipt.id}"
    if not created:
        response.headers["Idempotent-Replayed"] = "true"
    return InitiativeReceipt.from_domain(receipt)


# Public: the originator's private link ------------------------------------------------------------


@router.get("/api/v1/my/initiatives/{token}", tags=["originator"], summary="Status seen through the private link")
async def my_initiative(token: str, bus: BusDep, links: LinksDep) -> OriginatorView:
    return OriginatorView.from_domain(await bus.handle(GetInitiative(initiative_from_link(links, token))))


@router.post("/api/v1/my/initiatives/{token}/answer", tags=["originator"], summary="Answer an information request")
async def my_answer(token: str, body: Answer, bus: BusDep, links: LinksDep) -> OriginatorView:
    return OriginatorView.from_domain(await bus.handle(body.to_command(initiative_from_link(links, token))))


@router.post("/api/v1/my/initiatives/{token}/withdraw", tags=["originator"], summary="Withdraw the initiative")
async def my_withdraw(token: str, body: Withdrawal, bus: BusDep, links: LinksDep) -> OriginatorView:
    command = body.to_command(initiative_from_link(links, token), "originator")
    return OriginatorView.from_domain(await bus.handle(command))


# Staff --------------------------------------------------------------------------------------------


@router.get("/api/v1/initiatives", tags=["staff"], summary="List initiatives with filters")
async def list_initiatives(
    _: StaffReaderDep,
    found_by: FiltersDep,
    bus: BusDep,
    sort: SortOrder = "-submitted_at",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,  # found by schemathesis: 2**63 gave 500
) -> Page[InitiativeSummary]:
    found = await bus.handle(FindInitiatives(found_by, sort, limit, offset))
    items = [InitiativeSummary.from_domain(i) for i in found.initiatives]
    return Page(items=items, total=found.total, limit=limit, offset=offset)


@router.get("/api/v1/initiatives/export.csv", tags=["staff"], summary="The filtered list as CSV")
async def export_csv(_: StaffReaderDep, found_by: FiltersDep, bus: BusDep) -> Response:
    export = await bus.handle(ExportInitiatives(found_by))
    return csv_response("initiatives.csv", export.columns, export.rows)


@router.get("/api/v1/initiatives/{initiative_id}", tags=["staff"], summary="Detail with the full history")
async def detail(initiative_id: uuid.UUID, _: StaffReaderDep, bus: BusDep) -> InitiativeDetail:
    return InitiativeDetail.from_details(await bus.handle(GetInitiativeDetails(initiative_id)))


conflict: dict[int | str, dict[str, Any]] = {409: {"description": "illegal in the current status"}}


@router.post("/api/v1/initiatives/{initiative_id}/accept", tags=["staff"], responses=conflict)
async def accept(initiative_id: uuid.UUID, staff: CoordinatorDep, bus: BusDep) -> InitiativeSummary:
    return InitiativeSummary.from_domain(await bus.handle(AcceptInitiative(initiative_id, staff.subject)))


@router.post("/api/v1/initiatives/{initiative_id}/reject", tags=["staff"], responses=conflict)
async def reject(initiative_id: uuid.UUID, body: Rejection, staff: CoordinatorDep, bus: BusDep) -> InitiativeSummary:
    return InitiativeSummary.from_domain(await bus.handle(body.to_command(initiative_id, staff.subject)))


@router.post("/api/v1/initiatives/{initiative_id}/request-info", tags=["staff"], responses=conflict)
async def request_info(
    initiative_id: uuid.UUID, body: InformationRequest, staff: CoordinatorDep, bus: BusDep
) -> InitiativeSummary:
    return InitiativeSummary.from_domain(await bus.handle(body.to_command(initiative_id, staff.subject)))


@router.post("/api/v1/initiatives/{initiative_id}/withdraw", tags=["staff"], responses=conflict)
async def withdraw(initiative_id: uuid.UUID, body: Withdrawal, staff: CoordinatorDep, bus: BusDep) -> InitiativeSummary:
    return InitiativeSummary.from_domain(await bus.handle(body.to_command(initiative_id, staff.subject)))


@router.post("/api/v1/initiatives/{initiative_id}/close", tags=["staff"], responses=conflict)
async def close(initiative_id: uuid.UUID, staff: CoordinatorDep, bus: BusDep) -> InitiativeSummary:
    return InitiativeSummary.from_domain(await bus.handle(CloseInitiative(initiative_id, staff.subject)))
