"""The console's resource registry: search with filters and paging, the CSV of the current selection, one
person's page, and a coordinator registering municipality staff directly. Resources decides who may see
and do what; the signed-in person's token goes with every call."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import httpx
from babel import Locale
from babel.dates import format_datetime
from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.web.adapters.rendering import N_, Pages
from services.web.adapters.services import field_errors
from services.web.pages.edges import Errors, PagesDep, ServicesDep, Values, form_page, form_to_json, page_router, typed
from services.web.pages.portal import WORKING_LANGUAGES
from services.web.pages.staff_auth import CoordinatorDep, NotSignedIn, SignedIn, StaffDep
from shared.auth import Role

router = page_router()
MALMO = ZoneInfo("Europe/Stockholm")
PAGE_SIZE = 25
# The registry's search filters, named as resources' GET /api/v1/resources takes them (repeatable ones are lists).
RESOURCE_FILTERS = ("competence", "theme", "organisation_type", "language", "status")
SINGLE_FILTERS = ("min_capacity", "q")
PROFILE_LISTS = ("competences", "themes", "languages")
SHOWN_ONLY_TO_STAFF = N_("Only coordinators and operators can see this.")


# --- what the console's pages share ----------------------------------------------------------------


def moment(value: str | None, locale: str) -> str:
    """A service's ISO timestamp as Malmö's clock shows it, in the person's language."""
    if not value:
        return ""
    return format_datetime(datetime.fromisoformat(value), "d MMM y HH:mm", tzinfo=MALMO, locale=locale)


def language_name(code: str, locale: str) -> str:
    try:
        return str(Locale(code).get_display_name(locale)).capitalize()
    except (ValueError, TypeError):
        return code


def console(request: Request, pages: Pages, staff: SignedIn) -> dict[str, Any]:
    """What every console page's template gets: whether the person may act, and dates and languages shown."""
    locale = pages.locale(request)
    return {
        "may_act": staff.may(Role.COORDINATOR),
        "when": lambda value: moment(value, locale),
        "language_name": lambda code: language_name(code, locale),
    }


def chosen(request: Request, repeatable: Iterable[str], single: Iterable[str]) -> dict[str, Any]:
    """The filters in the page's query string, without the empty ones (a form sends every field)."""
    values: dict[str, Any] = {}
    for name in repeatable:
        found = [v for v in request.query_params.getlist(name) if v.strip()]
        if found:
            values[name] = found
    for name in single:
        value = (request.query_params.get(name) or "").strip()
        if value:
            values[name] = value
    return values


def page_offset(request: Request) -> int:
    raw = request.query_params.get("offset") or "0"
    return int(raw) if raw.isdigit() and int(raw) <= 1_000_000 else 0


def paging(path: str, filters: Mapping[str, Any], total: int, limit: int, offset: int) -> dict[str, Any]:
    """Where the previous and next pages are, the filters kept."""

    def at(start: int) -> str:
        return f"{path}?{urlencode({**filters, 'offset': start}, doseq=True)}"

    return {
        "first": offset + 1 if total else 0,
        "last": min(offset + limit, total),
        "total": total,
        "previous": at(max(offset - limit, 0)) if offset > 0 else None,
        "next": at(offset + limit) if offset + limit < total else None,
    }


def query_errors(answer: httpx.Response) -> dict[str, dict[str, str]]:
    """A service's 422, each error by its field's name without a list index (`competences.2` is `competences`)."""
    errors: dict[str, dict[str, str]] = {}
    for name, error in field_errors(answer).items():
        base = ".".join(part for part in name.split(".") if not part.isdigit())
        errors.setdefault(base, error)
    return errors


def refused(request: Request, answer: httpx.Response, forbidden: str = SHOWN_ONLY_TO_STAFF) -> None:
    """A service's refusal as the web's own page: 401 (the token ran out) signs in again, 403 and 404 say
    so in words; any other 4xx left here is the web's own mistake and shown as such."""
    if answer.status_code == 401:
        raise NotSignedIn(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
    if answer.status_code == 403:
        raise HTTPException(403, forbidden)
    if answer.status_code >= 400:
        raise HTTPException(404 if answer.status_code == 404 else 400, "The service refused the request.")


# --- the registry ----------------------------------------------------------------------------------


@router.get("/staff/resources", response_class=HTMLResponse)
async def registry(request: Request, pages: PagesDep, services: ServicesDep, staff: StaffDep) -> HTMLResponse:
    filters = chosen(request, RESOURCE_FILTERS, SINGLE_FILTERS)
    offset = page_offset(request)
    answer = await services.resources.get(
        "/api/v1/resources", token=staff.token, params={**filters, "limit": PAGE_SIZE, "offset": offset}
    )
    context: dict[str, Any] = {
        **console(request, pages, staff),
        "values": filters,
        "errors": {},
        "working_languages": WORKING_LANGUAGES,
        "export_url": "/staff/resources/export.csv" + (f"?{urlencode(filters, doseq=True)}" if filters else ""),
    }
    if answer.status_code == 422:
        context |= {"errors": query_errors(answer), "found": None, "paging": None}
        return pages.render(request, "staff/resources.html", context, status_code=422)
    refused(request, answer)
    found = answer.json()
    context |= {
        "found": found["items"],
        "paging": paging("/staff/resources", filters, found["total"], PAGE_SIZE, offset),
    }
    return pages.render(request, "staff/resources.html", context)


@router.get("/staff/resources/export.csv", response_model=None)
async def export(request: Request, services: ServicesDep, staff: StaffDep) -> Response:
    """Resources' CSV of the current selection, passed on as it came (its file name, its total)."""
    filters = chosen(request, RESOURCE_FILTERS, SINGLE_FILTERS)
    answer = await services.resources.get("/api/v1/resources/export.csv", token=staff.token, params=filters)
    refused(request, answer)
    passed = {name: answer.headers[name] for name in ("Content-Disposition", "X-Total-Count") if name in answer.headers}
    return Response(answer.content, media_type=answer.headers.get("content-type", "text/csv"), headers=passed)


# --- direct registration of municipality staff ------------------------------------------------------


def _registration_form(
    request: Request, pages: Pages, staff: SignedIn, values: Values, errors: Errors, *,
    taken: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:  # fmt: skip
    more = {**console(request, pages, staff), "taken": taken, "working_languages": WORKING_LANGUAGES}
    return form_page(request, pages, "staff/resource_new.html", values, errors, status_code=status_code, **more)


@router.get("/staff/resources/new", response_class=HTMLResponse)
async def new_resource(request: Request, pages: PagesDep, staff: CoordinatorDep) -> HTMLResponse:
    defaults = {"organisation_type": "municipality", "organisation_name": "Malmö stad", "capacity": "2",
                "languages": ["sv"], "language": "sv"}  # fmt: skip
    return _registration_form(request, pages, staff, defaults, {})


def tags_of(text: str) -> list[str]:
    """The tags field: keywords separated by commas."""
    return [tag.strip() for tag in text.split(",") if tag.strip()]


@router.post("/staff/resources/new", response_model=None)
async def register_directly(
    request: Request, pages: PagesDep, services: ServicesDep, staff: CoordinatorDep
) -> Response:
    form = await request.form()
    body = form_to_json(form, lists=PROFILE_LISTS, numbers=("capacity", "hours_per_month"))
    body["tags"] = tags_of(str(form.get("tags") or ""))
    answer = await services.resources.post("/api/v1/resources/direct", token=staff.token, json=body)
    if answer.status_code == 422:
        return _registration_form(request, pages, staff, typed(form), query_errors(answer), status_code=422)
    if answer.status_code == 409:
        taken = {"resource_id": answer.json().get("resource_id")}  # the person already registered, to open
        return _registration_form(request, pages, staff, typed(form), {}, taken=taken, status_code=409)
    refused(request, answer)
    return RedirectResponse(f"/staff/resources/{answer.json()['id']}?done=registered", status_code=303)


# --- one person ------------------------------------------------------------------------------------


@router.get("/staff/resources/{resource_id}", response_class=HTMLResponse)
async def person(
    resource_id: uuid.UUID, request: Request, pages: PagesDep, services: ServicesDep, staff: StaffDep
) -> HTMLResponse:
    answer = await services.resources.get(f"/api/v1/resources/{resource_id}", token=staff.token)
    refused(request, answer)
    done = request.query_params.get("done") == "registered"
    context = {**console(request, pages, staff), "person": answer.json(), "registered": done}
    return pages.render(request, "staff/resource.html", context)
