"""Resources's JSON API: parse the request, call the use case, shape the answer. No rule lives here."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Response, status
from fastapi.responses import JSONResponse

from services.resources.domain import (
    ConfirmationLinkExpired,
    ConfirmationLinkReplaced,
    EmailAlreadyRegistered,
    LinkState,
    Resource,
    SearchFilters,
)
from services.resources.handlers import (
    ConfirmRegistration,
    EraseResource,
    ExportPersonalData,
    FindResources,
    GetResource,
    PauseResource,
    ReadConfirmationLink,
    RegisterResourceDirectly,
    RenewProfileLink,
    ResumeResource,
    UpdateProfile,
)
from services.resources.links import PrivateLinks
from services.resources.schemas import (
    Confirmation,
    ConfirmationGone,
    DataExport,
    EmailTaken,
    ProfileIn,
    ProfileLinkRequest,
    ProfileLinkRequested,
    RegistrationIn,
    RegistrationReceipt,
    ResourceView,
    Withdrawal,
    search_filters,
)
from shared.auth import CoordinatorDep, StaffReaderDep
from shared.errors import NotFound
from shared.links import InvalidLink, check_version
from shared.messagebus import MessageBus
from shared.openapi import CONFLICT, GONE_LINK, NOT_FOUND, RATE_LIMITED, TOO_LARGE, Problem, Responses, errors
from shared.service import BusDep, from_state
from shared.web import Page, RateLimit, csv_response

PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
# The CSV has the view's columns but the last changes (confirmed, withdrawn, updated): one row a person.
CSV_HEADER = tuple(c for c in ResourceView.model_fields if c not in {"confirmed_at", "withdrawal_reason", "updated_at"})
CSV_LIMIT = 10_000


EMAIL_TAKEN: Responses = {409: {"model": EmailTaken, "description": "Another resource has this email; its id is given"}}
PROFILE_CONFLICT: Responses = {
    409: {
        "model": Problem,
        "description": "Not allowed in the current status (the body names it, as ConflictProblem), or another "
        "resource has this email (as EmailTaken)",
    }
}

GONE: Responses = {
    410: {"model": ConfirmationGone, "description": "The link has expired or was replaced by a newer one (`state`)"}
}


FiltersDep = Annotated[SearchFilters, Depends(search_filters)]


def _csv_row(resource: Resource) -> list[Any]:
    cells = {**ResourceView.from_domain(resource).model_dump(), "created_at": resource.created_at.isoformat()}
    return [cells[column] for column in CSV_HEADER]


async def profile_written(bus: MessageBus[Any], command: object, *, show_id: bool) -> ResourceView | JSONResponse:
    """The resource after a command that writes its profile; 409 when the email is another resource's
    (its id told to staff only)."""
    try:
        return ResourceView.from_domain(await bus.handle(command))
    except EmailAlreadyRegistered as exc:
        body: dict[str, Any] = {"detail": str(exc)}
        if show_id:
            body["resource_id"] = str(exc.resource_id)
        return JSONResponse(body, status_code=status.HTTP_409_CONFLICT)


router = APIRouter()
LinksDep = Annotated[PrivateLinks, Depends(from_state("links"))]
limited = [Depends(RateLimit("resources-public"))]


async def profile_id(bus: MessageBus[Any], links: PrivateLinks, token: str) -> uuid.UUID:
    """The resource a private profile link names; 404 for a link that is not valid or whose resource is gone,
    410 (`state` "replaced") for one revoked by a renewed link (it names an older link version), 410 "expired"
    for one older than its links may be."""
    try:
        resource_id, version = links.read_profile(token)
    except InvalidLink:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "this link is not valid") from None
    resource: Resource = await bus.handle(GetResource(resource_id))
    check_version(version, resource.link_version)
    return resource_id


# --- the portal ------------------------------------------------------------------------------------


@router.post(
    "/api/v1/resources",
    status_code=status.HTTP_201_CREATED,
    tags=["portal"],
    summary="Register as a resource (a confirmation link is emailed)",
    dependencies=limited,
    responses=errors(RATE_LIMITED, TOO_LARGE),
)
async def register(body: RegistrationIn, bus: BusDep) -> RegistrationReceipt:
    """The portal's registration form; anyone may send it. Always answers 201 with an id and status
    pending_confirmation, also for an email already registered: whether an email is known is told only to its
    owner, by email. A new email gets a confirmation link valid for 7 days, and nothing counts until the person
    presses it; an unconfirmed one gets a new link, its details as first sent (whoever sends the form may not own
    the address, so nothing they wrote is taken); an active, paused or withdrawn one gets its private profile link
    instead. For a known email the id answered is a fresh one that names nobody. A registration never confirmed
    is erased a week after its link expired."""
    return RegistrationReceipt(id=await bus.handle(body.to_command()))


@router.post(
    "/api/v1/my/profile/link-requests",
    status_code=status.HTTP_202_ACCEPTED,
    tags=["resource"],
    summary="Send me a new profile link (by email, to the address on file)",
    dependencies=limited,
    responses=errors(RATE_LIMITED, TOO_LARGE),
)
async def request_profile_link(body: ProfileLinkRequest, bus: BusDep) -> ProfileLinkRequested:
    """For someone whose profile link has expired: an active or paused profile registered with this email gets
    a new link by email. Always the same 202, whatever the address: it never tells who is registered."""
    await bus.handle(body.to_command())
    return ProfileLinkRequested()


@router.post(
    "/api/v1/my/profile/{token}/renew-link",
    status_code=status.HTTP_202_ACCEPTED,
    tags=["resource"],
    summary="A fresh profile link by email; every link sent before stops working",
    dependencies=limited,
    responses=errors(NOT_FOUND, GONE_LINK, RATE_LIMITED),
)
async def renew_profile_link(token: str, response: Response, bus: BusDep, links: LinksDep) -> ProfileLinkRequested:
    """For a person who fears their link went astray (a forwarded email, a shared computer): the link they
    used and every other one sent before are revoked (404 from now on), and a new one goes to their email."""
    await bus.handle(RenewProfileLink(await profile_id(bus, links, token)))
    response.headers.update(PRIVATE)
    return ProfileLinkRequested()


# --- the person, through the confirmation link -----------------------------------------------------


def _gone(state: LinkState) -> JSONResponse:
    expired = state is LinkState.EXPIRED
    detail = "this confirmation link has expired" if expired else "a newer confirmation link was sent"
    return JSONResponse({"detail": detail, "state": state.value}, status_code=status.HTTP_410_GONE, headers=PRIVATE)


async def _read_confirmation(bus: MessageBus[Any], token: str) -> tuple[Resource, LinkState]:
    try:
        found: tuple[Resource, LinkState] = await bus.handle(ReadConfirmationLink(token))
    except (InvalidLink, NotFound):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "this link is not valid") from None
    return found


@router.get(
    "/api/v1/confirmations/{token}",
    tags=["resource"],
    summary="What a confirmation link would confirm (changes nothing)",
    response_model=Confirmation,
    responses=errors(NOT_FOUND, GONE),
)
async def confirmation(token: str, response: Response, bus: BusDep) -> Any:
    """For whoever holds the confirmation link from the registration email (`token` is its last part; no login):
    whose registration it is and whether it can still confirm. Only reads: mail scanners open every link, so
    the web's page shows a button whose POST confirms. 410 for an expired or replaced link (which, `state`
    says), 404 for a link that is not valid or whose registration was erased. Never cached."""
    resource, state = await _read_confirmation(bus, token)
    if state in {LinkState.EXPIRED, LinkState.REPLACED}:
        return _gone(state)
    response.headers.update(PRIVATE)
    return Confirmation.from_domain(resource, state)


@router.post(
    "/api/v1/confirmations/{token}",
    tags=["resource"],
    summary="Confirm the registration (once)",
    response_model=Confirmation,
    responses=errors(NOT_FOUND, GONE),
)
async def confirm(token: str, response: Response, bus: BusDep, links: LinksDep) -> Any:
    """The button behind the confirmation link: the registration becomes active, the other services hear of the
    person (ResourceRegistered) and a welcome email brings the private profile link, whose token this answer
    also carries (`just_confirmed`). The secret in the link is one-time: pressing again changes nothing and
    answers `already_confirmed` without the profile token. 410 for an expired or replaced link, 404 for one
    that is not valid. Never cached."""
    try:
        resource, confirmed = await bus.handle(ConfirmRegistration(token))
    except (InvalidLink, NotFound):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "this link is not valid") from None
    except ConfirmationLinkExpired:
        return _gone(LinkState.EXPIRED)
    except ConfirmationLinkReplaced:
        return _gone(LinkState.REPLACED)
    response.headers.update(PRIVATE)
    profile_token = links.profile_token(resource.id, resource.link_version) if confirmed else None
    return Confirmation.from_domain(resource, LinkState.ALREADY_CONFIRMED, profile_token)


# --- the person, through the private profile link --------------------------------------------------


@router.get(
    "/api/v1/my/profile/{token}", tags=["resource"], summary="My profile", responses=errors(NOT_FOUND, GONE_LINK)
)
async def my_profile(token: str, response: Response, bus: BusDep, links: LinksDep) -> ResourceView:
    """The person's own profile, for whoever holds the private profile link from their emails (`token` is its
    last part; no login). Never cached."""
    response.headers.update(PRIVATE)
    return ResourceView.from_domain(await bus.handle(GetResource(await profile_id(bus, links, token))))


@router.put(
    "/api/v1/my/profile/{token}",
    tags=["resource"],
    summary="Update my profile",
    response_model=ResourceView,
    responses=errors(NOT_FOUND, GONE_LINK, PROFILE_CONFLICT, RATE_LIMITED, TOO_LARGE),
    dependencies=limited,
)
async def update_my_profile(token: str, body: ProfileIn, response: Response, bus: BusDep, links: LinksDep) -> Any:
    """The person replaces their whole profile through the private link. Once they have confirmed, matching and
    notifications are told (ResourceUpdated). 409 for a withdrawn profile, or for an email another resource
    has (which one is not said)."""
    response.headers.update(PRIVATE)  # for the 200; the 409 is a response of its own
    return await profile_written(
        bus, UpdateProfile(await profile_id(bus, links, token), body.to_profile()), show_id=False
    )


@router.post(
    "/api/v1/my/profile/{token}/pause",
    tags=["resource"],
    summary="Pause: no invitations until I resume",
    responses=errors(NOT_FOUND, GONE_LINK, CONFLICT),
)
async def pause_me(token: str, bus: BusDep, links: LinksDep) -> ResourceView:
    """An active person takes a break: matching invites them to no new working group until they resume (it is
    told by ResourceUpdated). Pausing a paused profile changes nothing; 409 for an unconfirmed or withdrawn one."""
    return ResourceView.from_domain(await bus.handle(PauseResource(await profile_id(bus, links, token))))


@router.post(
    "/api/v1/my/profile/{token}/resume",
    tags=["resource"],
    summary="Resume",
    responses=errors(NOT_FOUND, GONE_LINK, CONFLICT),
)
async def resume_me(token: str, bus: BusDep, links: LinksDep) -> ResourceView:
    """A paused person is back in the pool and can be invited again (ResourceUpdated). Resuming an active profile
    changes nothing; 409 for an unconfirmed or withdrawn one."""
    return ResourceView.from_domain(await bus.handle(ResumeResource(await profile_id(bus, links, token))))


@router.post(
    "/api/v1/my/profile/{token}/withdraw",
    tags=["resource"],
    summary="Leave the pool (the profile stays until erased)",
    responses=errors(NOT_FOUND, GONE_LINK, CONFLICT, TOO_LARGE),
)
async def withdraw_me(token: str, bus: BusDep, links: LinksDep, body: Withdrawal | None = None) -> ResourceView:
    """The person leaves the pool, with an optional reason: the other services are told (ResourceWithdrawn) and
    no more invitations come. The profile stays, readable and erasable through the link; registering again with
    the same email starts over. 409 for an unconfirmed profile."""
    command = (body or Withdrawal()).to_command(await profile_id(bus, links, token))
    return ResourceView.from_domain(await bus.handle(command))


@router.get(
    "/api/v1/my/profile/{token}/export",
    tags=["resource"],
    summary="Everything this service holds about me",
    responses=errors(NOT_FOUND, GONE_LINK),
)
async def export_me(token: str, response: Response, bus: BusDep, links: LinksDep) -> DataExport:
    """The person's data export (GDPR article 15): the profile and the events about them still held here.
    Never cached."""
    response.headers.update(PRIVATE)
    return DataExport.from_domain(*await bus.handle(ExportPersonalData(await profile_id(bus, links, token))))


@router.delete(
    "/api/v1/my/profile/{token}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["resource"],
    summary="Erase me: every personal detail is deleted here and in the other services",
    responses=errors(NOT_FOUND, GONE_LINK),
)
async def erase_me(token: str, bus: BusDep, links: LinksDep) -> Response:
    """Deletes the profile and the events about the person held here, and tells the other services to delete
    theirs (ResourceErased). It cannot be undone; afterwards the link answers 404."""
    await bus.handle(EraseResource(await profile_id(bus, links, token)))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- coordinators (operators may read) -------------------------------------------------------------


@router.post(
    "/api/v1/resources/direct",
    status_code=status.HTTP_201_CREATED,
    tags=["staff"],
    summary="Register a municipality or other representative directly (active at once, told by email)",
    response_model=ResourceView,
    responses=errors(EMAIL_TAKEN, TOO_LARGE),
)
async def register_directly(body: ProfileIn, staff: CoordinatorDep, bus: BusDep) -> Any:
    """A coordinator registers someone who needs no double opt-in (e.g. a municipality employee): active at
    once, with registered_by set to the coordinator. Matching learns of them (ResourceRegistered) and the person
    gets a welcome email with their private profile link. 409, with that resource's id, for a known email."""
    return await profile_written(bus, RegisterResourceDirectly(body.to_profile(), by=staff.subject), show_id=True)


@router.get("/api/v1/resources", tags=["staff"], summary="Search resources")
async def search(
    _: StaffReaderDep,
    filters: FiltersDep,
    bus: BusDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Page[ResourceView]:
    """For coordinators and operators. Values of one filter are alternatives; different filters must all hold.
    Sorted by name; `total` counts every match, `limit` and `offset` page through them."""
    found, total = await bus.handle(FindResources(filters, limit, offset))
    return Page(items=[ResourceView.from_domain(r) for r in found], total=total, limit=limit, offset=offset)


@router.get(
    "/api/v1/resources/export.csv",
    tags=["staff"],
    summary="The filtered list as CSV",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
async def export_csv(_: StaffReaderDep, filters: FiltersDep, bus: BusDep) -> Response:
    """For coordinators and operators: the resources the search filters pass, one row each, at most 10,000.
    X-Total-Count says how many passed; when it is larger, narrow the filters."""
    found, total = await bus.handle(FindResources(filters, CSV_LIMIT))
    response = csv_response("resources.csv", CSV_HEADER, (_csv_row(r) for r in found))
    response.headers["X-Total-Count"] = str(total)  # more than CSV_LIMIT rows: narrow the filters
    return response


@router.get("/api/v1/resources/{resource_id}", tags=["staff"], summary="One resource", responses=errors(NOT_FOUND))
async def detail(resource_id: uuid.UUID, _: StaffReaderDep, bus: BusDep) -> ResourceView:
    """For coordinators and operators: one resource, in any status."""
    return ResourceView.from_domain(await bus.handle(GetResource(resource_id)))


@router.put(
    "/api/v1/resources/{resource_id}",
    tags=["staff"],
    summary="Update a resource's profile",
    response_model=ResourceView,
    responses=errors(NOT_FOUND, PROFILE_CONFLICT, TOO_LARGE),
)
async def update(resource_id: uuid.UUID, body: ProfileIn, _: CoordinatorDep, bus: BusDep) -> Any:
    """A coordinator replaces a resource's whole profile; once it is confirmed the other services are told
    (ResourceUpdated). 409 for a withdrawn profile, or for an email another resource has (its id is given)."""
    return await profile_written(bus, UpdateProfile(resource_id, body.to_profile()), show_id=True)


@router.post(
    "/api/v1/resources/{resource_id}/deactivate",
    tags=["staff"],
    summary="Deactivate: the person leaves the pool (ResourceWithdrawn)",
    responses=errors(NOT_FOUND, CONFLICT, TOO_LARGE),
)
async def deactivate(
    resource_id: uuid.UUID, _: CoordinatorDep, bus: BusDep, body: Withdrawal | None = None
) -> ResourceView:
    """A coordinator takes an active or paused person out of the pool, with an optional reason, as if they had
    withdrawn themselves: the other services are told (ResourceWithdrawn). 409 for an unconfirmed profile."""
    return ResourceView.from_domain(await bus.handle((body or Withdrawal()).to_command(resource_id)))
