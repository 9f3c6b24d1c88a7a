"""The console's working-group page: matching's proposal with each member's reasons and the needs left
uncovered; while it is proposed a coordinator swaps (from matching's suggestions), removes and confirms;
afterwards each seat's invitation, kept up to date by htmx polling a fragment (a reload shows the same)."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

import httpx
from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.web.adapters.rendering import N_, Pages
from services.web.adapters.services import Services
from services.web.pages.console_resources import console, refused
from services.web.pages.edges import PagesDep, ServicesDep, page_router
from services.web.pages.staff_auth import CoordinatorDep, SignedIn, StaffDep

router = page_router()
ONLY_COORDINATORS = N_("Working groups are shown to coordinators only.")
POLL_SECONDS = 5
STOP_POLLING = 286  # htmx swaps the answer and stops polling

GROUP_STATUSES = {
    "proposed": N_("Proposed, waiting for a coordinator"),
    "confirmed": N_("Confirmed: the invitations have gone out"),
    "formed": N_("Formed: every member accepted"),
    "dissolved": N_("Dissolved: it will not form"),
    "closed": N_("Closed: the work is done"),
}
# An invitation as the coordinator follows it; a seat whose person left and was replaced says so besides.
INVITATION_STATES = {
    "proposed": N_("Not invited yet"),
    "invited": N_("Pending: no answer yet"),
    "accepted": N_("Accepted the invitation"),
    "declined": N_("Declined the invitation"),
    "expired": N_("Expired unanswered"),
    "withdrawn": N_("Left the pool"),
    "erased": N_("Erased at their request"),
    "removed": N_("Removed by a coordinator"),
}
DONE = {
    "confirmed": N_("Confirmed. Every member has been sent an invitation."),
    "swapped": N_("Swapped. The new member is in the proposal; nobody is told until you confirm."),
    "removed": N_("Removed from the proposal."),
}
# What a 409 from matching meant, said to a coordinator (matching's own detail is English, for developers).
RULE_REFUSALS = {
    "needs at least": N_("The group would be smaller than its minimum size. Swap the member instead."),
    "no municipality representative": N_(
        "The group would have no municipality representative. Swap the member instead."
    ),
    "nobody free can take the seat": N_("Nobody free can take this seat under the group's rules."),
    "not in the pool": N_("This person is no longer in the pool."),
    "already in the group": N_("This person is or was already in the group."),
    "not free for this initiative": N_(
        "This person is not free for this initiative: their capacity, languages, organisation or status "
        "do not allow it."
    ),
    "representative in this seat": N_("This seat must go to a municipality representative."),
}
NO_LONGER = N_("This can no longer be done: the group's status is now “%(status)s”.")
RULES_BROKEN = N_("That change would break the group's rules, so nothing was changed.")


def conflict_in_words(answer: httpx.Response, gettext: Any) -> str:
    """Matching's 409 as a sentence in the coordinator's language."""
    body = answer.json()
    detail, status = str(body.get("detail", "")), str(body.get("current_status", ""))
    for fragment, words in RULE_REFUSALS.items():
        if fragment in detail:
            return str(gettext(words))
    if status and status != "proposed":
        return str(gettext(NO_LONGER)) % {"status": gettext(GROUP_STATUSES.get(status, status))}
    return str(gettext(RULES_BROKEN))


def invitations(group: dict[str, Any]) -> list[dict[str, Any]]:
    """Each seat that was invited (and each one still held), with who took over a seat that was left."""
    seats = [*group["members"], *group["former_members"]]
    taken_over = {seat["replaces"]: seat for seat in seats if seat.get("replaces")}
    rows = []
    for seat in seats:
        active = seat in group["members"]
        if not active and seat.get("invited_at") is None:
            continue  # taken out of the proposal before anyone was invited
        successor = taken_over.get(seat["seat_id"])
        rows.append({**seat, "replaced_by": successor["name"] if successor else None, "replaced": bool(successor)})
    return rows


def fingerprint(group: dict[str, Any]) -> str:
    """Changes when any invitation's state changes: the fragment answers 204 (nothing to swap) otherwise."""
    seats = [(r["seat_id"], r["status"], r["answered_at"], r["replaced_by"]) for r in invitations(group)]
    seen = [group["status"], seats]
    return hashlib.sha256(json.dumps(seen, default=str).encode()).hexdigest()[:16]


async def group_of(request: Request, services: Services, staff: SignedIn, group_id: uuid.UUID) -> dict[str, Any]:
    answer = await services.matching.get(f"/api/v1/groups/{group_id}", token=staff.token)
    refused(request, answer, forbidden=ONLY_COORDINATORS)
    found: dict[str, Any] = answer.json()
    return found


def _context(request: Request, pages: Pages, staff: SignedIn, group: dict[str, Any]) -> dict[str, Any]:
    return {
        **console(request, pages, staff),
        "group": group,
        "group_statuses": GROUP_STATUSES,
        "invitation_states": INVITATION_STATES,
        "invitations": invitations(group),
        "fingerprint": fingerprint(group),
        "poll_seconds": POLL_SECONDS,
    }


async def group_page(
    request: Request,
    pages: Pages,
    services: Services,
    staff: SignedIn,
    group_id: uuid.UUID,
    *,
    problem: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    group = await group_of(request, services, staff, group_id)
    done = DONE.get(request.query_params.get("done") or "") if problem is None else None
    context = {**_context(request, pages, staff, group), "problem": problem, "done": done}
    return pages.render(request, "staff/group.html", context, status_code=status_code)


@router.get("/staff/groups/{group_id}", response_class=HTMLResponse)
async def show(
    group_id: uuid.UUID, request: Request, pages: PagesDep, services: ServicesDep, staff: StaffDep
) -> HTMLResponse:
    return await group_page(request, pages, services, staff, group_id)


@router.get("/staff/groups/{group_id}/invitations", response_class=HTMLResponse)
async def invitations_fragment(
    group_id: uuid.UUID, request: Request, pages: PagesDep, services: ServicesDep, staff: StaffDep
) -> Response:
    """The invitations table alone, for htmx: 204 while nothing changed, 286 once nobody can answer any more."""
    group = await group_of(request, services, staff, group_id)
    context = _context(request, pages, staff, group)
    if group["status"] == "confirmed" and request.query_params.get("seen") == context["fingerprint"]:
        return Response(status_code=204)
    status_code = 200 if group["status"] == "confirmed" else STOP_POLLING
    return pages.render(request, "staff/group_invitations.html", context, status_code=status_code)


async def acted(
    request: Request,
    pages: Pages,
    services: Services,
    staff: SignedIn,
    group_id: uuid.UUID,
    answer: httpx.Response,
    done: str,
) -> Response:
    """After a change: back to the group (303) with what happened, or the group with matching's refusal."""
    if answer.status_code == 409:
        problem = conflict_in_words(answer, lambda message: pages.gettext(request, message))
        return await group_page(request, pages, services, staff, group_id, problem=problem, status_code=409)
    refused(request, answer, forbidden=ONLY_COORDINATORS)
    return RedirectResponse(f"/staff/groups/{group_id}?done={done}", status_code=303)


@router.post("/staff/groups/{group_id}/confirm", response_model=None)
async def confirm(
    group_id: uuid.UUID, request: Request, pages: PagesDep, services: ServicesDep, staff: CoordinatorDep
) -> Response:
    answer = await services.matching.post(f"/api/v1/groups/{group_id}/confirm", token=staff.token)
    return await acted(request, pages, services, staff, group_id, answer, "confirmed")


@router.post("/staff/groups/{group_id}/members/{resource_id}/remove", response_model=None)
async def remove(
    group_id: uuid.UUID,
    resource_id: uuid.UUID,
    request: Request,
    pages: PagesDep,
    services: ServicesDep,
    staff: CoordinatorDep,
) -> Response:
    path = f"/api/v1/groups/{group_id}/members/{resource_id}"
    answer = await services.matching.request("DELETE", path, token=staff.token)
    return await acted(request, pages, services, staff, group_id, answer, "removed")


@router.get("/staff/groups/{group_id}/members/{resource_id}/swap", response_class=HTMLResponse)
async def replacements(
    group_id: uuid.UUID,
    resource_id: uuid.UUID,
    request: Request,
    pages: PagesDep,
    services: ServicesDep,
    staff: CoordinatorDep,
) -> HTMLResponse:
    """Matching's suggestions for the seat, best first (the best one chosen); choosing one is the POST."""
    group = await group_of(request, services, staff, group_id)
    member = next((m for m in group["members"] if m["resource_id"] == str(resource_id)), None)
    if member is None:
        raise HTTPException(404, "No such member.")
    answer = await services.matching.get(
        f"/api/v1/groups/{group_id}/members/{resource_id}/replacements", token=staff.token
    )
    refused(request, answer, forbidden=ONLY_COORDINATORS)
    context = {**_context(request, pages, staff, group), "member": member, "candidates": answer.json()}
    return pages.render(request, "staff/group_swap.html", context)


@router.post("/staff/groups/{group_id}/members/{resource_id}/swap", response_model=None)
async def swap(
    group_id: uuid.UUID,
    resource_id: uuid.UUID,
    request: Request,
    pages: PagesDep,
    services: ServicesDep,
    staff: CoordinatorDep,
) -> Response:
    form = await request.form()
    chosen = str(form.get("replacement_id") or "").strip()
    body = {"replacement_id": chosen} if chosen else {}  # none chosen: matching takes the best replacement
    path = f"/api/v1/groups/{group_id}/members/{resource_id}/swap"
    answer = await services.matching.post(path, token=staff.token, json=body)
    if answer.status_code == 422:
        problem = pages.gettext(request, N_("Choose one of the people suggested."))
        return await group_page(request, pages, services, staff, group_id, problem=problem, status_code=422)
    return await acted(request, pages, services, staff, group_id, answer, "swapped")
