"""Resources's JSON API: parse the request, call the use case, shape the answer. No rule lives here."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Response, status
from fastapi.responses import JSONResponse

from services.resources.domain import EmailAlreadyRegistered, Resource, SearchFilters, Status
from services.resources.handlers import (
    EraseResource,
    ExportPersonalData,
    FindResources,
    GetResource,
    PauseResource,
    RegisterResourceDirectly,
    ResumeResource,
    UpdateProfile,
)
from services.resources.links import PrivateLinks
from services.resources.schemas import (
    DataExport,
    LanguageCode,
    ProfileIn,
    RegistrationIn,
    RegistrationReceipt,
    ResourceView,
    SearchText,
    Withdrawal,
)
from shared.auth import CoordinatorDep, StaffReaderDep
from shared.links import InvalidLink
from shared.messagebus import MessageBus
from shared.service import BusDep, from_state
from shared.taxonomy import Competence, OrganisationType, Theme
from shared.web import Page, RateLimit, csv_response

PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
CSV_HEADER = (
    "id",
    "status",
    "name",
    "email",
    "phone",
    "organisation_name",
    "organisation_type",
    "organisation_number",
    "role_title",
    "sector",
    "competences",
    "tags",
    "themes",
    "capacity",
    "hours_per_month",
    "languages",
    "language",
    "registered_by",
    "created_at",
)
CSV_LIMIT = 10_000

conflict: dict[int | str, dict[str, Any]] = {409: {"description": "Not allowed from the current status"}}
not_found: dict[int | str, dict[str, Any]] = {404: {"description": "No such resource, or the link is not valid"}}


def search_filters(
    competence: Annotated[list[Competence] | None, Query(description="Has any of these competences")] = None,
    theme: Annotated[list[Theme] | None, Query(description="Has any of these themes")] = None,
    organisation_type: Annotated[list[OrganisationType] | None, Query()] = None,
    language: Annotated[list[LanguageCode] | None, Query(description="Speaks any of these (ISO 639-1)")] = None,
    status: Annotated[list[Status] | None, Query(description="In any of these statuses (default: all)")] = None,
    min_capacity: Annotated[
        int | None,
        Query(
            ge=1,
            le=5,
            description=(
                "Free capacity, read as: can be in at least this many working groups at once. The registry does "
                "not know how many groups a person is in now; matching subtracts the current load."
            ),
        ),
    ] = None,
    q: Annotated[SearchText | None, Query(description="Free text: name, email, organisation, role, tags")] = None,
) -> SearchFilters:
    return SearchFilters(
        competences=tuple(competence or ()),
        themes=tuple(theme or ()),
        organisation_types=tuple(organisation_type or ()),
        languages=tuple(language or ()),
        statuses=tuple(status or ()),
        min_capacity=min_capacity,
        text=q or None,
    )


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


def profile_id(links: PrivateLinks, token: str) -> uuid.UUID:
    """The resource a private profile link names; 404 for a link that is not valid."""
    try:
        return links.profile.read_id(token)
    except InvalidLink:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "this link is not valid") from None


# --- the portal ------------------------------------------------------------------------------------


@router.post(
    "/api/v1/resources",
    status_code=status.HTTP_201_CREATED,
    tags=["portal"],
    summary="Register as a resource (a confirmation link is emailed)",
    description=(
        "Always answers 201 with an id and status pending_confirmation, also for an email already "
        "registered: whether an email is known is told only to its owner, by email."
    ),
    dependencies=limited,
    responses={429: {"description": "Too many requests; see Retry-After"}},
)
async def register(body: RegistrationIn, bus: BusDep) -> RegistrationReceipt:
    return RegistrationReceipt(id=await bus.handle(body.to_command()))


# --- the person, through the private profile link --------------------------------------------------


@router.get("/api/v1/my/profile/{token}", tags=["resource"], summary="My profile", responses=not_found)
async def my_profile(token: str, response: Response, bus: BusDep, links: LinksDep) -> ResourceView:
    response.headers.update(PRIVATE)
    return ResourceView.from_domain(await bus.handle(GetResource(profile_id(links, token))))


@router.put(
    "/api/v1/my/profile/{token}",
    tags=["resource"],
    summary="Update my profile",
    response_model=ResourceView,
    responses={**not_found, **conflict},
    dependencies=limited,
)
async def update_my_profile(token: str, body: ProfileIn, response: Response, bus: BusDep, links: LinksDep) -> Any:
    response.headers.update(PRIVATE)  # for the 200; the 409 is a response of its own
    return await profile_written(bus, UpdateProfile(profile_id(links, token), body.to_profile()), show_id=False)


@router.post(
    "/api/v1/my/profile/{token}/pause",
    tags=["resource"],
    summary="Pause: no invitations until I resume",
    responses={**not_found, **conflict},
)
async def pause_me(token: str, bus: BusDep, links: LinksDep) -> ResourceView:
    return ResourceView.from_domain(await bus.handle(PauseResource(profile_id(links, token))))


@router.post(
    "/api/v1/my/profile/{token}/resume", tags=["resource"], summary="Resume", responses={**not_found, **conflict}
)
async def resume_me(token: str, bus: BusDep, links: LinksDep) -> ResourceView:
    return ResourceView.from_domain(await bus.handle(ResumeResource(profile_id(links, token))))


@router.post(
    "/api/v1/my/profile/{token}/withdraw",
    tags=["resource"],
    summary="Leave the pool (the profile stays until erased)",
    responses={**not_found, **conflict},
)
async def withdraw_me(token: str, bus: BusDep, links: LinksDep, body: Withdrawal | None = None) -> ResourceView:
    command = (body or Withdrawal()).to_command(profile_id(links, token))
    return ResourceView.from_domain(await bus.handle(command))


@router.get(
    "/api/v1/my/profile/{token}/export",
    tags=["resource"],
    summary="Everything this service holds about me",
    responses=not_found,
)
async def export_me(token: str, response: Response, bus: BusDep, links: LinksDep) -> DataExport:
    response.headers.update(PRIVATE)
    return DataExport.from_domain(*await bus.handle(ExportPersonalData(profile_id(links, token))))


@router.delete(
    "/api/v1/my/profile/{token}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["resource"],
    summary="Erase me: every personal detail is deleted here and in the other services",
    responses=not_found,
)
async def erase_me(token: str, bus: BusDep, links: LinksDep) -> Response:
    await bus.handle(EraseResource(profile_id(links, token)))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- coordinators (operators may read) -------------------------------------------------------------


@router.post(
    "/api/v1/resources/direct",
    status_code=status.HTTP_201_CREATED,
    tags=["staff"],
    summary="Register a municipality or other representative directly (active at once, told by email)",
    response_model=ResourceView,
    responses={409: {"description": "A resource with this email exists (its id is given)"}},
)
async def register_directly(body: ProfileIn, staff: CoordinatorDep, bus: BusDep) -> Any:
    return await profile_written(bus, RegisterResourceDirectly(body.to_profile(), by=staff.subject), show_id=True)


@router.get(
    "/api/v1/resources",
    tags=["staff"],
    summary="Search resources",
    description="Values of one filter are alternatives; different filters must all hold. Sorted by name.",
)
async def search(
    _: StaffReaderDep,
    filters: FiltersDep,
    bus: BusDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Page[ResourceView]:
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
    found, total = await bus.handle(FindResources(filters, CSV_LIMIT))
    response = csv_response("resources.csv", CSV_HEADER, (_csv_row(r) for r in found))
    response.headers["X-Total-Count"] = str(total)  # more than CSV_LIMIT rows: narrow the filters
    return response


@router.get("/api/v1/resources/{resource_id}", tags=["staff"], summary="One resource", responses=not_found)
async def detail(resource_id: uuid.UUID, _: StaffReaderDep, bus: BusDep) -> ResourceView:
    return ResourceView.from_domain(await bus.handle(GetResource(resource_id)))


@router.put(
    "/api/v1/resources/{resource_id}",
    tags=["staff"],
    summary="Update a resource's profile",
    response_model=ResourceView,
    responses={**not_found, **conflict},
)
async def update(resource_id: uuid.UUID, body: ProfileIn, _: CoordinatorDep, bus: BusDep) -> Any:
    return await profile_written(bus, UpdateProfile(resource_id, body.to_profile()), show_id=True)


@router.post(
    "/api/v1/resources/{resource_id}/deactivate",
    tags=["staff"],
    summary="Deactivate: the person leaves the pool (ResourceWithdrawn)",
    responses={**not_found, **conflict},
)
async def deactivate(
    resource_id: uuid.UUID, _: CoordinatorDep, bus: BusDep, body: Withdrawal | None = None
) -> ResourceView:
    return ResourceView.from_domain(await bus.handle((body or Withdrawal()).to_command(resource_id)))
