"""The console's inbox and initiative pages: the initiatives by status with filters, search, sort, paging
and the CSV of the selection, what needs attention; one initiative with its history, duplicates, lead,
private notes and the coordinators' decisions; and registering an initiative received at a personal
meeting. Intake (and matching, for the working group) decide who may see and do what: the signed-in
person's token goes with every call, and operators see the same pages without the forms."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.web.adapters.rendering import N_, Pages
from services.web.adapters.services import Services, ServiceUnavailable, field_errors
from services.web.pages.console_resources import MALMO, console, page_offset, paging, refused
from services.web.pages.edges import Errors, PagesDep, ServicesDep, Values, form_page, form_to_json, page_router, typed
from services.web.pages.portal import INITIATIVE_LISTS
from services.web.pages.staff_auth import CoordinatorDep, SignedIn, StaffDep
from shared.auth import Role

router = page_router()
PAGE_SIZE = 25
WAITING_DAYS = 7  # an information request unanswered for longer needs a coordinator's eye
ATTENTION_SHOWN = 5  # initiatives listed per card; the card links to all of them
WAITING_FOR_PEOPLE_ASKED = 10  # accepted initiatives matching is asked about, oldest first
ONLY_COORDINATORS = N_("Only coordinators can change initiatives; operators see them read-only.")

STATUSES = {
    "submitted": N_("Submitted, waiting for review"),
    "info_requested": N_("Waiting for the originator's answer"),
    "accepted": N_("Accepted, a group is being sought"),
    "group_forming": N_("Working group being formed"),
    "group_formed": N_("Working group formed"),
    "rejected": N_("Rejected"),
    "withdrawn": N_("Withdrawn"),
    "closed": N_("Closed"),
}
STEPS = {
    "submit": N_("Submitted"),
    "accept": N_("Accepted"),
    "reject": N_("Rejected"),
    "request_info": N_("Asked the originator for more information"),
    "answer": N_("The originator answered"),
    "withdraw": N_("Withdrawn"),
    "start_group_forming": N_("Matching proposed a working group"),
    "mark_group_formed": N_("The working group was formed"),
    "close": N_("Closed"),
    "assign_lead": N_("Lead coordinator changed"),
    "erase_originator": N_("The contact person's details were erased"),
}
SORTS = {
    "-submitted_at": N_("Newest first"),
    "submitted_at": N_("Oldest first"),
    "reference": N_("By reference"),
    "title": N_("By title"),
    "status": N_("By status"),
}
CHANNELS = {"portal": N_("Through the portal"), "meeting": N_("At a personal meeting")}
DONE = {
    "accepted": N_("Accepted. The originator is told by email, and matching is looking for a working group."),
    "rejected": N_("Rejected. The originator gets your reason by email."),
    "info_requested": N_("Your question has been emailed to the originator with their private link."),
    "closed": N_("Closed. Matching ends the working group."),
    "lead": N_("The lead coordinator is changed."),
    "note": N_("Your note is kept. Only staff can read it."),
    "registered": N_("Registered. The originator gets the receipt with their private link by email."),
    "originator_erased": N_(
        "The contact person's name, email and phone are erased here and in every service. The initiative goes on."
    ),
}
NO_LONGER = N_("This could not be done: the initiative is now “%(status)s”. The page shows it as it is now.")
MISSING = {
    "municipality_representative": N_("a municipality representative who is free"),
    "people": N_("more free people from different organisations"),
    "competences": N_("people with the competences needed"),
}
# The inbox's filters as intake's GET /api/v1/initiatives takes them (status is repeatable).
SINGLE_FILTERS = ("theme", "organisation_type", "lead", "submitted_from", "submitted_to", "q", "sort")
DATE_FILTERS = ("submitted_from", "submitted_to")


# --- the inbox -------------------------------------------------------------------------------------


def inbox_filters(request: Request) -> dict[str, Any]:
    """What the inbox's query string asks for, without empty fields (a form sends every field)."""
    values: dict[str, Any] = {}
    statuses = [s for s in request.query_params.getlist("status") if s in STATUSES]
    if statuses:
        values["status"] = statuses
    for name in SINGLE_FILTERS:
        value = (request.query_params.get(name) or "").strip()
        if value:
            values[name] = value
    if values.get("sort") not in SORTS:
        values.pop("sort", None)
    return values


def day_of(value: str) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def intake_query(values: Mapping[str, Any], staff: SignedIn) -> tuple[dict[str, Any], dict[str, dict[str, str]]]:
    """The inbox's filters as intake's query: dates as Malmö's whole days, `me` as the signed-in person's
    email; a date that is no date is refused here, beside its field."""
    params: dict[str, Any] = {k: v for k, v in values.items() if k not in DATE_FILTERS}
    if params.get("lead") == "me":
        params["lead"] = staff.email
    errors: dict[str, dict[str, str]] = {}
    for name, clock in (("submitted_from", time.min), ("submitted_to", time.max)):
        if name in values:
            day = day_of(values[name])
            if day is None:
                errors[name] = {"type": "value_error", "reason": "not a date"}
            else:
                params[name] = datetime.combine(day, clock, MALMO).isoformat()
    return params, errors


async def count(services: Services, staff: SignedIn, params: Mapping[str, Any]) -> int:
    answer = await services.intake.get("/api/v1/initiatives", token=staff.token, params={**params, "limit": 1})
    return int(answer.json()["total"]) if answer.status_code == 200 else 0


def link(values: Mapping[str, Any], **changes: Any) -> str:
    """The inbox with these filters, `changes` applied (None drops a filter); paging starts again."""
    chosen = {k: v for k, v in {**values, **changes}.items() if v is not None}
    return "/staff" + (f"?{urlencode(chosen, doseq=True)}" if chosen else "")


async def waiting_for_people(services: Services, staff: SignedIn) -> dict[str, Any] | None:
    """Accepted initiatives that matching has no group for yet, with what is lacking. Matching lists no such
    initiatives, so the oldest accepted ones are asked about one by one; coordinators only (matching refuses
    operators), and None when matching does not answer."""
    if not staff.may(Role.COORDINATOR):
        return None
    accepted = await services.intake.get(
        "/api/v1/initiatives",
        token=staff.token,
        params={"status": "accepted", "sort": "submitted_at", "limit": WAITING_FOR_PEOPLE_ASKED},
    )
    if accepted.status_code != 200:
        return None
    found = accepted.json()

    async def lacking(initiative: dict[str, Any]) -> dict[str, Any] | None:
        answer = await services.matching.get(f"/api/v1/initiatives/{initiative['id']}", token=staff.token)
        if answer.status_code != 200:
            return None  # not known to matching yet (the acceptance is on its way), or not ours to see
        known = answer.json()
        if known.get("group_id"):
            return None
        return {**initiative, "missing": known.get("missing") or [], "people_free": known.get("people_free"),
                "people_needed": known.get("people_needed"),
                "missing_competences": known.get("missing_competences") or []}  # fmt: skip

    try:
        asked = await asyncio.gather(*(lacking(i) for i in found["items"]))
    except ServiceUnavailable:
        return {"items": [], "total": found["total"], "unavailable": True}
    return {"items": [i for i in asked if i is not None], "total": found["total"], "unavailable": False}


async def needs_attention(services: Services, staff: SignedIn, now: datetime) -> dict[str, Any]:
    """The inbox's cards: new and nobody's, waiting long for the originator, waiting for people."""
    unassigned_params = {"status": "submitted", "lead": "none", "sort": "submitted_at", "limit": ATTENTION_SHOWN}
    unassigned, asking = await asyncio.gather(
        services.intake.get("/api/v1/initiatives", token=staff.token, params=unassigned_params),
        services.intake.get(
            "/api/v1/initiatives",
            token=staff.token,
            params={"status": "info_requested", "sort": "submitted_at", "limit": 200},
        ),
    )
    cutoff = now - timedelta(days=WAITING_DAYS)
    waiting = [
        i for i in (asking.json()["items"] if asking.status_code == 200 else [])
        if datetime.fromisoformat(i["updated_at"] or i["submitted_at"]) < cutoff
    ]  # fmt: skip
    return {
        "unassigned": unassigned.json() if unassigned.status_code == 200 else {"items": [], "total": 0},
        "waiting_for_answer": {"items": waiting[:ATTENTION_SHOWN], "total": len(waiting)},
        "waiting_for_people": await waiting_for_people(services, staff),
        "waiting_days": WAITING_DAYS,
    }


@router.get("/staff", response_class=HTMLResponse)
async def inbox(request: Request, pages: PagesDep, services: ServicesDep, staff: StaffDep) -> HTMLResponse:
    values = inbox_filters(request)
    params, errors = intake_query(values, staff)
    offset = page_offset(request)
    context: dict[str, Any] = {
        **console(request, pages, staff),
        **labels(),
        "values": values,
        "errors": errors,
        "link": lambda **changes: link(values, **changes),
        "status_options": [(code, pages.gettext(request, message)) for code, message in STATUSES.items()],
        "export_url": "/staff/initiatives/export.csv" + (f"?{urlencode(values, doseq=True)}" if values else ""),
        "me": staff.email,
    }
    answer = None
    if not errors:
        answer = await services.intake.get(
            "/api/v1/initiatives", token=staff.token, params={**params, "limit": PAGE_SIZE, "offset": offset}
        )
        if answer.status_code == 422:
            errors = {name.split(".")[0]: error for name, error in field_errors(answer).items()}
        else:
            refused(request, answer)
    if errors:
        context |= {"errors": errors, "found": None, "paging": None, "counts": {}, "attention": None}
        return pages.render(request, "staff/inbox.html", context, status_code=422)
    assert answer is not None
    found = answer.json()
    others = {k: v for k, v in params.items() if k not in {"status", "sort"}}
    totals = await asyncio.gather(*(count(services, staff, {**others, "status": s}) for s in STATUSES))
    context |= {
        "found": found["items"],
        "paging": paging("/staff", values, found["total"], PAGE_SIZE, offset),
        "counts": dict(zip(STATUSES, totals, strict=True)),
        "attention": await needs_attention(services, staff, datetime.now(UTC)),
    }
    return pages.render(request, "staff/inbox.html", context)


@router.get("/staff/initiatives/export.csv", response_model=None)
async def export(request: Request, services: ServicesDep, staff: StaffDep) -> Response:
    """Intake's CSV of the inbox's current selection, passed on as it came (its file name kept)."""
    params, errors = intake_query(inbox_filters(request), staff)
    if errors:
        raise HTTPException(400, "The service refused the request.")
    params.pop("sort", None)  # the export is newest first
    answer = await services.intake.get("/api/v1/initiatives/export.csv", token=staff.token, params=params)
    refused(request, answer)
    passed = {name: answer.headers[name] for name in ("Content-Disposition",) if name in answer.headers}
    return Response(answer.content, media_type=answer.headers.get("content-type", "text/csv"), headers=passed)


def labels() -> dict[str, Any]:
    return {"statuses": STATUSES, "steps": STEPS, "sorts": SORTS, "channels": CHANNELS, "missing_words": MISSING}


# --- registering an initiative received at a personal meeting -------------------------------------


def _registration_form(
    request: Request, pages: Pages, staff: SignedIn, values: Values, errors: Errors, *, key: str | None = None,
    status_code: int = 200
) -> HTMLResponse:  # fmt: skip
    more = {**console(request, pages, staff), "idempotency_key": key or str(uuid.uuid4())}
    return form_page(request, pages, "staff/initiative_new.html", values, errors, status_code=status_code, **more)


@router.get("/staff/initiatives/new", response_class=HTMLResponse)
async def new_initiative(request: Request, pages: PagesDep, staff: CoordinatorDep) -> HTMLResponse:
    defaults = {"group_size.min": "3", "group_size.max": "6", "language": "sv"}
    return _registration_form(request, pages, staff, defaults, {})


@router.post("/staff/initiatives/new", response_model=None)
async def register_on_behalf(
    request: Request, pages: PagesDep, services: ServicesDep, staff: CoordinatorDep
) -> Response:
    form = await request.form()
    key = str(form.get("idempotency_key") or uuid.uuid4())
    body = form_to_json(form, lists=INITIATIVE_LISTS, numbers=("group_size.min", "group_size.max"))
    body["consent"] = form.get("consent") == "true"  # the coordinator confirms the originator agreed
    answer = await services.intake.post(
        "/api/v1/initiatives/on-behalf", token=staff.token, json=body, headers={"Idempotency-Key": key}
    )
    if answer.status_code == 422:
        return _registration_form(request, pages, staff, typed(form), field_errors(answer), key=key, status_code=422)
    refused(request, answer, forbidden=ONLY_COORDINATORS)
    return RedirectResponse(f"/staff/initiatives/{answer.json()['id']}?done=registered", status_code=303)


# --- one initiative --------------------------------------------------------------------------------


async def working_group(services: Services, staff: SignedIn, initiative: dict[str, Any]) -> dict[str, Any] | None:
    """Matching's newest group for the initiative, or what stops one; coordinators only, once accepted."""
    if not staff.may(Role.COORDINATOR) or initiative["status"] not in {
        "accepted", "group_forming", "group_formed", "closed"
    }:  # fmt: skip
        return None
    try:
        answer = await services.matching.get(
            "/api/v1/groups", token=staff.token, params={"initiative_id": initiative["id"], "limit": 1}
        )
    except ServiceUnavailable:
        return {"unavailable": True, "group": None, "problem": None}
    if answer.status_code != 200:
        return None
    found = answer.json()
    group = found["items"][0] if found.get("items") else None
    return {"unavailable": False, "group": group, "problem": found.get("formation_problem")}


async def initiative_page(
    request: Request,
    pages: Pages,
    services: Services,
    staff: SignedIn,
    initiative_id: uuid.UUID,
    *,
    problem: str | None = None,
    values: dict[str, Any] | None = None,
    errors: dict[str, dict[str, str]] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    answer = await services.intake.get(f"/api/v1/initiatives/{initiative_id}", token=staff.token)
    refused(request, answer)
    initiative = answer.json()
    done = DONE.get(request.query_params.get("done") or "") if problem is None and not errors else None
    context = {
        **console(request, pages, staff),
        **labels(),
        "initiative": initiative,
        "group": await working_group(services, staff, initiative),
        "problem": problem,
        "done": done,
        "values": values or {},
        "errors": errors or {},
        "me": staff.email,
    }
    return pages.render(request, "staff/initiative.html", context, status_code=status_code)


@router.get("/staff/initiatives/{initiative_id}", response_class=HTMLResponse)
async def show(
    initiative_id: uuid.UUID, request: Request, pages: PagesDep, services: ServicesDep, staff: StaffDep
) -> HTMLResponse:
    return await initiative_page(request, pages, services, staff, initiative_id)


def conflict_in_words(request: Request, pages: Pages, answer: httpx.Response) -> str:
    """Intake's 409 as a sentence in the coordinator's language: what the initiative is now."""
    status = str(answer.json().get("current_status", ""))
    words = pages.gettext(request, STATUSES.get(status, status)) if status in STATUSES else status
    return pages.gettext(request, NO_LONGER) % {"status": words}


async def acted(
    request: Request,
    pages: Pages,
    services: Services,
    staff: SignedIn,
    initiative_id: uuid.UUID,
    answer: httpx.Response,
    done: str,
    typed_in: dict[str, Any],
) -> Response:
    """After a step: back to the initiative (303) with what happened; a refusal shows the page as it is now,
    with the reason (409) or the field to fill in (422), what was typed kept."""
    if answer.status_code == 409:
        problem = conflict_in_words(request, pages, answer)
        return await initiative_page(request, pages, services, staff, initiative_id, problem=problem,
                                     status_code=409)  # fmt: skip
    if answer.status_code == 422:
        errors = field_errors(answer)
        return await initiative_page(request, pages, services, staff, initiative_id, values=typed_in, errors=errors,
                                     status_code=422)  # fmt: skip
    refused(request, answer, forbidden=ONLY_COORDINATORS)
    return RedirectResponse(f"/staff/initiatives/{initiative_id}?done={done}", status_code=303)


async def step(
    request: Request,
    pages: Pages,
    services: Services,
    staff: SignedIn,
    initiative_id: uuid.UUID,
    action: str,
    done: str,
    fields: tuple[str, ...] = (),
) -> Response:
    form = await request.form()
    body = {name: str(form.get(name) or "").strip() for name in fields} if fields else None
    path = f"/api/v1/initiatives/{initiative_id}/{action}"
    answer = await services.intake.post(path, token=staff.token, json=body)
    return await acted(request, pages, services, staff, initiative_id, answer, done, typed(form))


@router.post("/staff/initiatives/{initiative_id}/lead", response_model=None)
async def lead(
    initiative_id: uuid.UUID, request: Request, pages: PagesDep, services: ServicesDep, staff: CoordinatorDep
) -> Response:
    """`me` (the button "Assign myself"), a colleague's email, or empty to unassign."""
    form = await request.form()
    chosen = str(form.get("lead") or "").strip()
    body = {"lead": staff.email if chosen == "me" else (chosen or None)}
    answer = await services.intake.post(f"/api/v1/initiatives/{initiative_id}/lead", token=staff.token, json=body)
    return await acted(request, pages, services, staff, initiative_id, answer, "lead", typed(form))


@router.post("/staff/initiatives/{initiative_id}/erase-originator", response_model=None)
async def erase_originator(
    initiative_id: uuid.UUID, request: Request, pages: PagesDep, services: ServicesDep, staff: CoordinatorDep
) -> Response:
    """Erasure cannot be undone: it needs the box ticked (the confirmation step), else the page asks for it."""
    form = await request.form()
    if form.get("confirm") != "true":
        errors = {"confirm": {"field": "confirm", "type": "bool_parsing", "reason": "confirm the erasure"}}
        return await initiative_page(request, pages, services, staff, initiative_id, errors=errors, status_code=422)
    answer = await services.intake.post(f"/api/v1/initiatives/{initiative_id}/erase-originator", token=staff.token)
    return await acted(request, pages, services, staff, initiative_id, answer, "originator_erased", typed(form))


# The steps that only post to the service's /{action}: (the route's name, what the page then says, the fields sent).
STEP_ROUTES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "accept": ("accept", "accepted", ()),
    "reject": ("reject", "rejected", ("reason",)),
    "request-info": ("request_info", "info_requested", ("message",)),
    "close": ("close", "closed", ()),
    "notes": ("add_note", "note", ("text",)),
}


def _step_route(action: str, done: str, fields: tuple[str, ...]) -> Callable[..., Awaitable[Response]]:
    async def route(
        initiative_id: uuid.UUID, request: Request, pages: PagesDep, services: ServicesDep, staff: CoordinatorDep
    ) -> Response:
        return await step(request, pages, services, staff, initiative_id, action, done, fields)

    return route


for _action, (_name, _done, _fields) in STEP_ROUTES.items():
    router.post(f"/staff/initiatives/{{initiative_id}}/{_action}", response_model=None, name=_name)(
        _step_route(_action, _done, _fields)
    )
