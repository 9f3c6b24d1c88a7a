"""Intake's HTTP API: the portal's submission, the originator's private link, the staff API."""

from __future__ import annotations

import functools
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Response, status

from services.intake.handlers import (
    AcceptInitiative,
    CloseInitiative,
    EraseOriginator,
    ExportInitiatives,
    FindInitiatives,
    GetInitiative,
    GetInitiativeDetails,
    IdempotencyKeyReused,
    SubmitInitiative,
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
    LeadAssignment,
    NoteIn,
    OriginatorView,
    Rejection,
    SortOrder,
    StatusLinkRequest,
    StatusLinkRequested,
    Withdrawal,
)
from shared.auth import CoordinatorDep, StaffReaderDep
from shared.links import InvalidLink, check_version
from shared.openapi import CONFLICT, GONE_LINK, NOT_FOUND, RATE_LIMITED, TOO_LARGE, Problem, Responses, errors
from shared.service import BusDep, from_state
from shared.web import Page, RateLimit, csv_response

router = APIRouter()

LinksDep = Annotated[StatusLinks, Depends(from_state("links"))]


KEY_REUSED: Responses = {
    409: {"model": Problem, "description": "The Idempotency-Key was used before for a different initiative"}
}

# A step on one initiative: unknown (or a changed link) is 404, an expired or replaced link 410, not allowed in
# its status 409.
originator_step = functools.partial(
    router.post, tags=["originator"], responses=errors(NOT_FOUND, GONE_LINK, CONFLICT, TOO_LARGE)
)
decision = functools.partial(router.post, tags=["staff"], responses=errors(NOT_FOUND, CONFLICT, TOO_LARGE))


async def initiative_from_link(bus: BusDep, links: StatusLinks, token: str) -> uuid.UUID:
    """The initiative a status link names; 404 for a link that is not valid, 410 for an expired one or one a
    newer link replaced (it names an older status-link version)."""
    try:
        initiative_id, version = links.read_versioned(token)
    except InvalidLink:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "this link is not valid") from None
    initiative = await bus.handle(GetInitiative(initiative_id))
    check_version(version, initiative.status_link_version)
    return initiative_id


# Public: the portal -------------------------------------------------------------------------------


@router.post(
    "/api/v1/initiatives",
    tags=["portal"],
    status_code=status.HTTP_201_CREATED,
    response_model=InitiativeReceipt,
    dependencies=[Depends(RateLimit("intake:submit"))],
    responses=errors(KEY_REUSED, TOO_LARGE, RATE_LIMITED),
    summary="Submit an initiative",
)
async def submit(
    body: InitiativeCreate,
    response: Response,
    bus: BusDep,
    idempotency_key: Annotated[
        str | None,
        Header(
            max_length=200,
            description="Any unique string per submission; send the same one when retrying after a timeout "
            "and the first receipt comes back (`Idempotent-Replayed: true`) instead of a second initiative.",
        ),
    ] = None,
) -> InitiativeReceipt:
    """The portal submits an initiative for anyone, without login. It is stored as `submitted` with a
    reference; the contact person gets a receipt by email with their private status link, and the
    coordinators are alerted to review it."""
    return await _submitted(bus, body.to_command(idempotency_key), response)


async def _submitted(bus: BusDep, command: SubmitInitiative, response: Response) -> InitiativeReceipt:
    """Store the submission (or replay its first receipt for the same Idempotency-Key) and say where it is."""
    try:
        receipt, created = await bus.handle(command)
    except IdempotencyKeyReused as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    response.headers["Location"] = f"/api/v1/initiatives/{receipt.id}"
    if not created:
        response.headers["Idempotent-Replayed"] = "true"
    return InitiativeReceipt.from_domain(receipt)


# Public: the originator's private link ------------------------------------------------------------


@router.get(
    "/api/v1/my/initiatives/{token}",
    tags=["originator"],
    summary="Status seen through the private link",
    responses=errors(NOT_FOUND, GONE_LINK),
)
async def my_initiative(token: str, bus: BusDep, links: LinksDep) -> OriginatorView:
    """The originator's view behind the token of the private link in their emails (no login): the status,
    the coordinator's open question and whether they can answer or withdraw. A changed token is 404; an
    expired link, or one a newer link replaced, 410 (`state` says which)."""
    return OriginatorView.from_domain(await bus.handle(GetInitiative(await initiative_from_link(bus, links, token))))


@originator_step("/api/v1/my/initiatives/{token}/answer", summary="Answer an information request")
async def my_answer(token: str, body: Answer, bus: BusDep, links: LinksDep) -> OriginatorView:
    """The originator answers the coordinator's question through the private link, optionally improving the
    summary and the description. The initiative is `submitted` again and the coordinators get the answer by
    email. 409 when no question is open."""
    return OriginatorView.from_domain(await bus.handle(body.to_command(await initiative_from_link(bus, links, token))))


@originator_step("/api/v1/my/initiatives/{token}/withdraw", summary="Withdraw the initiative")
async def my_withdraw(token: str, body: Withdrawal, bus: BusDep, links: LinksDep) -> OriginatorView:
    """The originator withdraws through the private link, any time until the working group is formed;
    matching dissolves a group being formed. 409 when it is too late or the initiative has already ended."""
    command = body.to_command(await initiative_from_link(bus, links, token), "originator")
    return OriginatorView.from_domain(await bus.handle(command))


@router.post(
    "/api/v1/my/initiatives/link-requests",
    tags=["originator"],
    status_code=status.HTTP_202_ACCEPTED,
    summary="Send me a new status link (by email, to the initiative's contact address)",
    dependencies=[Depends(RateLimit("intake:link-requests"))],
    responses=errors(RATE_LIMITED, TOO_LARGE),
)
async def request_status_link(body: StatusLinkRequest, bus: BusDep) -> StatusLinkRequested:
    """For an originator whose status link expired or went astray: when the reference and the contact email
    belong to one initiative, every status link sent before stops working (410) and a new one goes to that
    email. Always the same 202, whether or not they matched: it never tells which initiatives exist."""
    await bus.handle(body.to_command())
    return StatusLinkRequested()


# Staff --------------------------------------------------------------------------------------------


@router.post(
    "/api/v1/initiatives/on-behalf",
    tags=["staff"],
    status_code=status.HTTP_201_CREATED,
    response_model=InitiativeReceipt,
    responses=errors(KEY_REUSED, TOO_LARGE),
    summary="Register an initiative received at a personal meeting",
)
async def submit_on_behalf(
    body: InitiativeCreate,
    response: Response,
    staff: CoordinatorDep,
    bus: BusDep,
    idempotency_key: Annotated[
        str | None,
        Header(max_length=200, description="As for the portal's submission: a retry gets the first receipt."),
    ] = None,
) -> InitiativeReceipt:
    """A coordinator registers an initiative that came in at a personal meeting, on the originator's behalf:
    the same body as the portal's submission, where `consent: true` records that the coordinator confirms the
    originator agreed. It is stored as `submitted` with channel `meeting` and the coordinator as
    `registered_by`; the contact person still gets the receipt by email with their private status link."""
    return await _submitted(bus, body.to_command(idempotency_key, registered_by=staff.subject), response)


@router.get("/api/v1/initiatives", tags=["staff"], summary="List initiatives with filters")
async def list_initiatives(
    _: StaffReaderDep,
    found_by: FiltersDep,
    bus: BusDep,
    sort: SortOrder = "-submitted_at",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,  # found by schemathesis: 2**63 gave 500
) -> Page[InitiativeSummary]:
    """Coordinators and operators page through the initiatives, newest first unless `sort` says otherwise;
    the filters combine (`status` may be repeated, `q` searches title, texts, organisation and reference,
    `lead=none` finds those nobody leads yet)."""
    found = await bus.handle(FindInitiatives(found_by, sort, limit, offset))
    items = [InitiativeSummary.from_domain(i) for i in found.initiatives]
    return Page(items=items, total=found.total, limit=limit, offset=offset)


@router.get(
    "/api/v1/initiatives/export.csv",
    tags=["staff"],
    summary="The filtered list as CSV",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "One row per initiative, with a header row"}},
)
async def export_csv(_: StaffReaderDep, found_by: FiltersDep, bus: BusDep) -> Response:
    """Every initiative the same filters find, newest first, with the originator's contact details, for a
    spreadsheet (coordinators and operators). Lists are joined with `; `; text that a spreadsheet would read
    as a formula is defused."""
    export = await bus.handle(ExportInitiatives(found_by))
    return csv_response("initiatives.csv", export.columns, export.rows)


@router.get(
    "/api/v1/initiatives/{initiative_id}",
    tags=["staff"],
    summary="Detail with the full history",
    responses=errors(NOT_FOUND),
)
async def detail(initiative_id: uuid.UUID, _: StaffReaderDep, bus: BusDep) -> InitiativeDetail:
    """One initiative for coordinators and operators: all it says, its originator, its history, its lead, the
    staff's private notes and the open initiatives that looked like the same idea when it came in."""
    return InitiativeDetail.from_details(await bus.handle(GetInitiativeDetails(initiative_id)))


@decision("/api/v1/initiatives/{initiative_id}/accept", summary="Accept the initiative")
async def accept(initiative_id: uuid.UUID, staff: CoordinatorDep, bus: BusDep) -> InitiativeSummary:
    """A coordinator accepts a `submitted` initiative. The originator is told by email, and matching starts
    proposing a working group. 409 in any other status."""
    return InitiativeSummary.from_domain(await bus.handle(AcceptInitiative(initiative_id, staff.subject)))


@decision("/api/v1/initiatives/{initiative_id}/reject", summary="Reject the initiative with a reason")
async def reject(initiative_id: uuid.UUID, body: Rejection, staff: CoordinatorDep, bus: BusDep) -> InitiativeSummary:
    """A coordinator rejects a `submitted` initiative; the originator gets the reason by email. This is final.
    409 in any other status."""
    return InitiativeSummary.from_domain(await bus.handle(body.to_command(initiative_id, staff.subject)))


@decision("/api/v1/initiatives/{initiative_id}/request-info", summary="Ask the originator for more information")
async def request_info(
    initiative_id: uuid.UUID, body: InformationRequest, staff: CoordinatorDep, bus: BusDep
) -> InitiativeSummary:
    """A coordinator asks about a `submitted` initiative: it waits in `info_requested`, and the originator gets
    the question by email with their private link to answer. 409 in any other status."""
    return InitiativeSummary.from_domain(await bus.handle(body.to_command(initiative_id, staff.subject)))


@decision("/api/v1/initiatives/{initiative_id}/withdraw", summary="Withdraw the initiative for its originator")
async def withdraw(initiative_id: uuid.UUID, body: Withdrawal, staff: CoordinatorDep, bus: BusDep) -> InitiativeSummary:
    """A coordinator withdraws the initiative, e.g. when the originator asked by phone; as the originator's own
    withdrawal, it is possible until the working group is formed. 409 when it is too late or already ended."""
    return InitiativeSummary.from_domain(await bus.handle(body.to_command(initiative_id, staff.subject)))


@decision("/api/v1/initiatives/{initiative_id}/close", summary="Close the initiative")
async def close(initiative_id: uuid.UUID, staff: CoordinatorDep, bus: BusDep) -> InitiativeSummary:
    """A coordinator closes an initiative whose working group has formed, when the work is done; matching ends
    the group. 409 in any other status."""
    return InitiativeSummary.from_domain(await bus.handle(CloseInitiative(initiative_id, staff.subject)))


@router.post(
    "/api/v1/initiatives/{initiative_id}/lead",
    tags=["staff"],
    responses=errors(NOT_FOUND, TOO_LARGE),
    summary="Assign the lead coordinator, or unassign",
)
async def lead(initiative_id: uuid.UUID, body: LeadAssignment, staff: CoordinatorDep, bus: BusDep) -> InitiativeSummary:
    """A coordinator makes someone (themselves or a colleague, by the email of their staff sign-in) the lead
    who follows the initiative, in any status, or sends `{"lead": null}` to leave it unassigned. The step is
    kept in the history (not shown to the originator); the same lead again changes nothing."""
    return InitiativeSummary.from_domain(await bus.handle(body.to_command(initiative_id, staff.subject)))


@router.post(
    "/api/v1/initiatives/{initiative_id}/notes",
    tags=["staff"],
    status_code=status.HTTP_201_CREATED,
    responses=errors(NOT_FOUND, TOO_LARGE),
    summary="Add a private staff note",
)
async def add_note(initiative_id: uuid.UUID, body: NoteIn, staff: CoordinatorDep, bus: BusDep) -> InitiativeDetail:
    """A coordinator adds a note for the staff (a phone call, a next step): shown in the detail's `notes`
    with its author and time, never to the originator; the event that follows says only that a note was
    added. Answers the detail with the notes."""
    await bus.handle(body.to_command(initiative_id, staff.subject))
    return InitiativeDetail.from_details(await bus.handle(GetInitiativeDetails(initiative_id)))


@router.post(
    "/api/v1/initiatives/{initiative_id}/erase-originator",
    tags=["staff"],
    responses=errors(NOT_FOUND),
    summary="Erase the originator's contact details",
)
async def erase_originator(initiative_id: uuid.UUID, staff: CoordinatorDep, bus: BusDep) -> InitiativeDetail:
    """A coordinator erases the contact person's name, email and phone (the originator asked, GDPR art. 17),
    in any status: here, in the history and notes, in the events not yet sent, and, told by `OriginatorErased`,
    in matching and notifications; nobody emails them again. The initiative, its organisation and its work go
    on, and the status link still works (it never showed the contact). Kept in the history with the
    coordinator, without what was erased. Cannot be undone; erasing again changes nothing (200). Ended
    initiatives are erased this way anyway after the retention (INTAKE_ORIGINATOR_RETENTION_DAYS)."""
    await bus.handle(EraseOriginator(initiative_id, staff.subject))
    return InitiativeDetail.from_details(await bus.handle(GetInitiativeDetails(initiative_id)))
