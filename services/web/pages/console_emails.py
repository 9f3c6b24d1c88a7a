"""The console's emails: notifications' delivery log with its filters and paging, failures first to the
eye and a retry button for each (coordinators only; operators read), and the signed-in coordinator's own
choice of alerts, immediate or a daily digest, and their language."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.web.adapters.rendering import N_, Pages
from services.web.adapters.services import Services
from services.web.pages.console_resources import MALMO, chosen, console, page_offset, paging, query_errors, refused
from services.web.pages.edges import Errors, PagesDep, ServicesDep, Values, form_page, form_to_json, page_router, typed
from services.web.pages.staff_auth import CoordinatorDep, SignedIn, StaffDep
from shared.auth import Role

router = page_router()
PAGE_SIZE = 50
LOG_FILTERS = ("status", "template", "recipient_role", "from", "until")
DELIVERY_STATUSES = {
    "failed": N_("Failed"),
    "queued": N_("Queued"),
    "sent": N_("Sent"),
    "held": N_("Held for the daily digest"),
    "in_digest": N_("Sent in a digest"),
    "cancelled": N_("Cancelled: the recipient was erased"),
    "unknown": N_("Unknown: the server never answered, the email may have arrived"),
}
TEMPLATES = {
    "originator_receipt": N_("Receipt for a submitted initiative"),
    "originator_status_link": N_("A new status link, asked for by the originator"),
    "originator_info_requested": N_("More information requested"),
    "originator_accepted": N_("Initiative accepted"),
    "originator_rejected": N_("Initiative rejected"),
    "resource_confirmation": N_("Confirm a registration"),
    "resource_welcome": N_("Welcome to the pool (registered by a coordinator)"),
    "resource_profile_link": N_("Link to an existing profile"),
    "member_invitation": N_("Invitation to a working group"),
    "group_formed": N_("The working group is formed"),
    "coordinator_initiative_submitted": N_("Coordinators: a new initiative"),
    "coordinator_initiative_updated": N_("Coordinators: an initiative was updated"),
    "coordinator_group_proposed": N_("Coordinators: a group was proposed"),
    "coordinator_member_replaced": N_("Coordinators: a member was replaced"),
    "coordinator_group_formed": N_("Coordinators: a group was formed"),
    "coordinator_formation_blocked": N_("Coordinators: no group can be formed yet"),
    "coordinator_digest": N_("A coordinator's daily digest"),
}
RECIPIENT_ROLES = {
    "coordinator": N_("Coordinator"),
    "originator": N_("The initiative's contact"),
    "resource": N_("Resource"),
}
DONE = {"retried": N_("The email is in the queue again and is being sent now.")}
NOT_RETRIED = N_(
    "This email cannot be retried: only a failed email whose address and text are still kept can be sent again."
)
ALERT_MODES = {
    "immediate": N_("Each alert straight away"),
    "daily_digest": N_("The day's alerts in one email, once a day"),
}
SAVED = N_("Saved. Your next alert follows this choice.")
NO_PREFERENCE = N_("Only coordinators get alerts, so there is nothing to choose here.")


def day_start(value: str) -> str:
    """A day typed in the form as the moment it begins in Malmö (the log asks for moments)."""
    return datetime.combine(date.fromisoformat(value), time(0), MALMO).isoformat()


def log_query(filters: dict[str, Any]) -> tuple[dict[str, Any], dict[str, dict[str, str]]]:
    """The log's filters as notifications takes them: `until` a day includes that whole day."""
    params, errors = dict(filters), {}
    for name, shift in (("from", 0), ("until", 1)):
        if name in params:
            try:
                day = date.fromisoformat(params[name]) + timedelta(days=shift)
            except ValueError:
                errors[name] = {"type": "value_error", "reason": ""}
                del params[name]
                continue
            params[name] = day_start(day.isoformat())
    return params, errors


async def log_page(
    request: Request,
    pages: Pages,
    services: Services,
    staff: SignedIn,
    filters: dict[str, Any],
    offset: int,
    *,
    problem: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    params, errors = log_query(filters)
    context: dict[str, Any] = {
        **console(request, pages, staff),
        "values": filters,
        "errors": errors,
        "problem": problem,
        "done": DONE.get(request.query_params.get("done") or "") if problem is None else None,
        "statuses": DELIVERY_STATUSES,
        "templates": TEMPLATES,
        "recipient_roles": RECIPIENT_ROLES,
        "here": urlencode({**filters, "offset": offset}),
        "found": None,
        "paging": None,
    }
    if errors:
        return pages.render(request, "staff/emails.html", context, status_code=422)
    answer = await services.notifications.get(
        "/api/v1/deliveries", token=staff.token, params={**params, "limit": PAGE_SIZE, "offset": offset}
    )
    if answer.status_code == 422:
        context["errors"] = query_errors(answer)
        return pages.render(request, "staff/emails.html", context, status_code=422)
    refused(request, answer)
    found = answer.json()
    context |= {"found": found["items"], "paging": paging("/staff/emails", filters, found["total"], PAGE_SIZE, offset)}
    return pages.render(request, "staff/emails.html", context, status_code=status_code)


@router.get("/staff/emails", response_class=HTMLResponse)
async def delivery_log(request: Request, pages: PagesDep, services: ServicesDep, staff: StaffDep) -> HTMLResponse:
    return await log_page(request, pages, services, staff, chosen(request, (), LOG_FILTERS), page_offset(request))


@router.post("/staff/emails/{delivery_id}/retry", response_model=None)
async def retry(
    delivery_id: uuid.UUID, request: Request, pages: PagesDep, services: ServicesDep, staff: CoordinatorDep
) -> Response:
    form = await request.form()
    # Back to the same page of the log: only its own filters, read from the form, never a free redirect.
    back = {k: v for k, v in parse_qsl(str(form.get("back") or "")) if k in LOG_FILTERS and v}
    offset = next((int(v) for k, v in parse_qsl(str(form.get("back") or "")) if k == "offset" and v.isdigit()), 0)
    answer = await services.notifications.post(f"/api/v1/deliveries/{delivery_id}/retry", token=staff.token)
    if answer.status_code == 409:
        problem = pages.gettext(request, NOT_RETRIED)
        return await log_page(request, pages, services, staff, back, offset, problem=problem, status_code=409)
    refused(request, answer)
    return RedirectResponse(f"/staff/emails?{urlencode({**back, 'offset': offset, 'done': 'retried'})}", 303)


# --- the coordinator's own alerts ------------------------------------------------------------------


def _preferences(
    request: Request, pages: Pages, staff: SignedIn, values: Values, errors: Errors, status_code: int = 200
) -> HTMLResponse:
    done = SAVED if request.query_params.get("done") == "saved" and not errors else None
    more = {**console(request, pages, staff), "modes": ALERT_MODES, "done": done, "no_preference": NO_PREFERENCE}
    return form_page(request, pages, "staff/preferences.html", values, errors, status_code=status_code, **more)


@router.get("/staff/preferences", response_class=HTMLResponse)
async def preferences(request: Request, pages: PagesDep, services: ServicesDep, staff: StaffDep) -> HTMLResponse:
    if not staff.may(Role.COORDINATOR):
        return _preferences(request, pages, staff, {}, {})
    answer = await services.notifications.get("/api/v1/preferences/me", token=staff.token)
    refused(request, answer)
    chosen_now = answer.json()
    values = {"alert_mode": chosen_now["alert_mode"], "language": chosen_now.get("language") or "sv"}
    return _preferences(request, pages, staff, values, {})


@router.post("/staff/preferences", response_model=None)
async def choose(request: Request, pages: PagesDep, services: ServicesDep, staff: CoordinatorDep) -> Response:
    form = await request.form()
    answer = await services.notifications.request(
        "PUT", "/api/v1/preferences/me", token=staff.token, json=form_to_json(form)
    )
    if answer.status_code == 422:
        return _preferences(request, pages, staff, typed(form), query_errors(answer), status_code=422)
    refused(request, answer)
    return RedirectResponse("/staff/preferences?done=saved", status_code=303)
