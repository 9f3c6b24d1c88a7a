"""The pages behind the links in the emails: an initiative's status, confirming a registration, the
resource's profile, an invitation to a working group, stopping the daily digest.

Each link carries a signed token; the web passes it on to the service's JSON endpoint, which decides what
it may do (the web keeps nothing). Mail scanners open every link, so a GET only shows; only a button's
POST acts. A link the service does not know is the not-found page. The RFC 8058 one-click unsubscribe is
the one POST a mail client makes without a session: it has a router of its own (`one_click`)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from babel.dates import format_date
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.web.adapters.rendering import N_, Pages
from services.web.adapters.services import field_errors
from services.web.pages.edges import Errors, PagesDep, ServicesDep, Values, form_page, form_to_json, page_router, typed
from services.web.pages.portal import WORKING_LANGUAGES
from services.web.sessions import verify_csrf

router = page_router()
# The one route a mail client posts to with no session (RFC 8058): it checks CSRF itself for any other body.
one_click = APIRouter(include_in_schema=False)
MALMO = ZoneInfo("Europe/Stockholm")

STATUS_WORDS = {
    "submitted": N_("Submitted: a coordinator will review it"),
    "info_requested": N_("We have a question for you"),
    "accepted": N_("Accepted: we are putting a working group together"),
    "rejected": N_("Not taken further"),
    "withdrawn": N_("Withdrawn"),
    "group_forming": N_("A working group is being formed"),
    "group_formed": N_("The working group is formed"),
    "closed": N_("Closed"),
}
PROFILE_STATUS_WORDS = {
    "pending_confirmation": N_("Awaiting confirmation of your email"),
    "active": N_("Active: you can be invited to working groups"),
    "paused": N_("Paused: no invitations until you resume"),
    "withdrawn": N_("You have left the pool"),
}
DONE = {
    "answered": N_("Thank you, your answer is sent to the coordinators."),
    "withdrawn": N_("Your initiative is withdrawn."),
    "updated": N_("Your profile is saved."),
    "paused": N_("Your profile is paused."),
    "resumed": N_("Your profile is active again."),
    "left": N_("You have left the pool. Your details stay until you erase them."),
    "unsubscribed": N_("Done: from now on you get each alert straight away."),
    "link_renewed": N_("A fresh link to your profile is on its way to your email; the old links no longer work."),
    "link_requested": N_("If this address is registered with us, a new link to your profile is on its way there."),
    "status_link_requested": N_(
        "If that matches an initiative, we have sent a new status link to its contact email; the old links no "
        "longer work."
    ),
}
PROFILE_LISTS = ("competences", "themes", "languages")
ONE_CLICK = [("List-Unsubscribe", "One-Click")]  # RFC 8058's body, the only one accepted without a session


def _flash(request: Request, done: str) -> None:
    request.session["done"] = done


def _done(request: Request) -> str | None:
    done = request.session.pop("done", None)
    return DONE.get(done) if isinstance(done, str) else None


def _not_found(request: Request, pages: PagesDep, status_code: int = 404) -> HTMLResponse:
    return pages.render(request, "error.html", {"problem": "not_found"}, status_code=status_code)


def _checked(answer: httpx.Response, *, gone_is_expired: bool = True) -> httpx.Response:
    """A service's answer to a token: unknown is the not-found page, an expired link (410) the page saying
    so, too many tries the 429 page. (A confirmation's 410 says more: its pages read it themselves.)"""
    if answer.status_code == 404:
        raise HTTPException(404, "this link is not valid")
    if answer.status_code == 410 and gone_is_expired:
        replaced = _json(answer).get("state") == "replaced"
        raise HTTPException(410, "replaced" if replaced else "expired")
    if answer.status_code == 429:
        raise HTTPException(429, "too many requests", headers={"Retry-After": answer.headers.get("Retry-After", "60")})
    return answer


def _json(answer: httpx.Response) -> dict[str, Any]:
    try:
        found = answer.json()
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def _again(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


# --- the originator's initiative -------------------------------------------------------------------


@router.get("/my/initiatives/{token}", response_class=HTMLResponse)
async def initiative_status(token: str, request: Request, pages: PagesDep, services: ServicesDep) -> HTMLResponse:
    answer = _checked(await services.intake.get(f"/api/v1/my/initiatives/{token}"))
    answer.raise_for_status()
    return _status_page(request, pages, token, answer.json(), {}, {})


def _status_page(
    request: Request, pages: PagesDep, token: str, initiative: dict[str, Any], values: Values, errors: Errors,
    status_code: int = 200
) -> HTMLResponse:  # fmt: skip
    words = STATUS_WORDS.get(initiative["status"], initiative["status"])
    more = {"token": token, "initiative": initiative, "status_words": words, "done": _done(request)}
    return form_page(request, pages, "links/initiative.html", values, errors, status_code=status_code, **more)


@router.get("/my/new-status-link", response_class=HTMLResponse)
async def new_status_link_page(request: Request, pages: PagesDep) -> HTMLResponse:
    """Where an expired or replaced status link leads: the reference and the contact email; a new link goes
    to that email."""
    context: dict[str, Any] = {"values": {}, "errors": {}, "done": _done(request)}
    return pages.render(request, "links/new_status_link.html", context)


@router.post("/my/new-status-link", response_model=None)
async def request_new_status_link(request: Request, pages: PagesDep, services: ServicesDep) -> Response:
    """The same answer whether or not the pair matched (intake never says which initiatives exist); 422 names
    the field."""
    form = await request.form()
    body = {name: str(form.get(name) or "").strip() for name in ("reference", "email")}
    answer = _checked(await services.intake.post("/api/v1/my/initiatives/link-requests", json=body))
    if answer.status_code == 422:
        context = {"values": typed(form), "errors": field_errors(answer), "done": None}
        return pages.render(request, "links/new_status_link.html", context, status_code=422)
    answer.raise_for_status()
    _flash(request, "status_link_requested")
    return _again("/my/new-status-link")


@router.post("/my/initiatives/{token}/answer", response_model=None)
async def answer_question(token: str, request: Request, pages: PagesDep, services: ServicesDep) -> Response:
    form = await request.form()
    body = form_to_json(form)
    answer = _checked(await services.intake.post(f"/api/v1/my/initiatives/{token}/answer", json=body))
    if answer.status_code == 422:
        shown = _checked(await services.intake.get(f"/api/v1/my/initiatives/{token}"))
        errors = field_errors(answer)
        return _status_page(request, pages, token, shown.json(), typed(form), errors, status_code=422)
    if answer.status_code == 200:
        _flash(request, "answered")
    return _again(f"/my/initiatives/{token}")  # a 409 (no open question): the page says where it stands


@router.get("/my/initiatives/{token}/withdraw", response_class=HTMLResponse)
async def withdraw_question(token: str, request: Request, pages: PagesDep, services: ServicesDep) -> Response:
    """The withdraw button's second step: asks once more (GET only shows)."""
    answer = _checked(await services.intake.get(f"/api/v1/my/initiatives/{token}"))
    answer.raise_for_status()
    if not answer.json()["can_withdraw"]:
        return _again(f"/my/initiatives/{token}")
    return pages.render(request, "links/initiative_withdraw.html", {"token": token, "initiative": answer.json()})


@router.post("/my/initiatives/{token}/withdraw", response_model=None)
async def withdraw(token: str, request: Request, services: ServicesDep) -> Response:
    form = await request.form()
    answer = _checked(await services.intake.post(f"/api/v1/my/initiatives/{token}/withdraw", json=form_to_json(form)))
    if answer.status_code == 200:
        _flash(request, "withdrawn")
    return _again(f"/my/initiatives/{token}")


# --- confirming a registration ---------------------------------------------------------------------


def _confirmation_gone(request: Request, pages: Pages, answer: httpx.Response) -> HTMLResponse:
    """The confirmation link is spent or expired (410): which of the two, said."""
    return pages.render(request, "links/confirmation_gone.html", {"state": answer.json().get("state")}, status_code=410)


@router.get("/confirm/{token}", response_class=HTMLResponse)
async def confirmation(token: str, request: Request, pages: PagesDep, services: ServicesDep) -> HTMLResponse:
    answer = _checked(await services.resources.get(f"/api/v1/confirmations/{token}"), gone_is_expired=False)
    if answer.status_code == 410:
        return _confirmation_gone(request, pages, answer)
    answer.raise_for_status()
    shown = answer.json()
    confirmed = request.session.pop("confirmed", None)
    if shown["state"] == "already_confirmed" and isinstance(confirmed, dict) and confirmed.get("token") == token:
        context = {"person": shown, "profile_token": confirmed.get("profile")}
        return pages.render(request, "links/confirmed.html", context)
    return pages.render(request, "links/confirmation.html", {"token": token, "person": shown})


@router.post("/confirm/{token}", response_model=None)
async def confirm(token: str, request: Request, pages: PagesDep, services: ServicesDep) -> Response:
    answer = _checked(await services.resources.post(f"/api/v1/confirmations/{token}"), gone_is_expired=False)
    if answer.status_code == 410:
        return _confirmation_gone(request, pages, answer)
    answer.raise_for_status()
    if answer.json()["just_confirmed"]:  # this press confirmed: the next page says so, with the profile link
        request.session["confirmed"] = {"token": token, "profile": answer.json()["profile_token"]}
    return _again(f"/confirm/{token}")


# --- the resource's profile ------------------------------------------------------------------------


@router.get("/my/new-profile-link", response_class=HTMLResponse)
async def new_profile_link_page(request: Request, pages: PagesDep) -> HTMLResponse:
    """Where an expired profile link leads: the address registered with, and a new link goes there."""
    context: dict[str, Any] = {"values": {}, "errors": {}, "done": _done(request)}
    return pages.render(request, "links/new_profile_link.html", context)


@router.post("/my/new-profile-link", response_model=None)
async def request_new_profile_link(request: Request, pages: PagesDep, services: ServicesDep) -> Response:
    """The same answer for every address (resources never says who is registered); a bad address is 422."""
    form = await request.form()
    email = str(form.get("email") or "").strip()
    answer = _checked(await services.resources.post("/api/v1/my/profile/link-requests", json={"email": email}))
    if answer.status_code == 422:
        context = {"values": typed(form), "errors": field_errors(answer), "done": None}
        return pages.render(request, "links/new_profile_link.html", context, status_code=422)
    answer.raise_for_status()
    _flash(request, "link_requested")
    return _again("/my/new-profile-link")


async def _profile(services: ServicesDep, token: str) -> dict[str, Any]:
    answer = _checked(await services.resources.get(f"/api/v1/my/profile/{token}"))
    answer.raise_for_status()
    found: dict[str, Any] = answer.json()
    return found


def _as_form(profile: dict[str, Any]) -> dict[str, Any]:
    """The profile as the update form's fields (numbers as text, tags as one comma-separated field)."""
    values = {name: value for name, value in profile.items() if value is not None}
    values["tags"] = ", ".join(profile.get("tags") or [])
    for number in ("capacity", "hours_per_month"):
        if profile.get(number) is not None:
            values[number] = str(profile[number])
    return values


def _profile_page(
    request: Request, pages: PagesDep, token: str, profile: dict[str, Any], values: Values | None = None,
    errors: Errors | None = None, *, email_taken: bool = False, status_code: int = 200
) -> HTMLResponse:  # fmt: skip
    more = {
        "token": token,
        "person": profile,
        "status_words": PROFILE_STATUS_WORDS.get(profile["status"], profile["status"]),
        "email_taken": email_taken,
        "done": _done(request),
        "working_languages": WORKING_LANGUAGES,
    }
    typed_in = values if values is not None else _as_form(profile)
    return form_page(request, pages, "links/profile.html", typed_in, errors or {}, status_code=status_code, **more)


@router.get("/my/profile/{token}", response_class=HTMLResponse)
async def profile(token: str, request: Request, pages: PagesDep, services: ServicesDep) -> HTMLResponse:
    return _profile_page(request, pages, token, await _profile(services, token))


def _lists_without_index(answer: httpx.Response) -> dict[str, dict[str, str]]:
    """A 422's errors by field, `competences.2` shown at `competences`."""
    errors: dict[str, dict[str, str]] = {}
    for name, error in field_errors(answer).items():
        errors.setdefault(".".join(part for part in name.split(".") if not part.isdigit()), error)
    return errors


@router.post("/my/profile/{token}", response_model=None)
async def update_profile(token: str, request: Request, pages: PagesDep, services: ServicesDep) -> Response:
    form = await request.form()
    body = form_to_json(form, lists=PROFILE_LISTS, numbers=("capacity", "hours_per_month"))
    body["tags"] = [tag.strip() for tag in str(form.get("tags") or "").split(",") if tag.strip()]
    answer = _checked(await services.resources.request("PUT", f"/api/v1/my/profile/{token}", json=body))
    if answer.status_code in (409, 422):
        current = await _profile(services, token)
        taken = answer.status_code == 409 and current["status"] != "withdrawn"
        errors = _lists_without_index(answer) if answer.status_code == 422 else {}
        return _profile_page(
            request, pages, token, current, typed(form), errors, email_taken=taken, status_code=answer.status_code
        )
    answer.raise_for_status()
    _flash(request, "updated")
    return _again(f"/my/profile/{token}")


@router.post("/my/profile/{token}/renew-link", response_model=None)
async def renew_link(token: str, request: Request, services: ServicesDep) -> Response:
    """The old link is revoked at once, so the answer is a page that needs no token."""
    _checked(await services.resources.post(f"/api/v1/my/profile/{token}/renew-link")).raise_for_status()
    _flash(request, "link_renewed")
    return _again("/my/new-profile-link")


@router.post("/my/profile/{token}/pause", response_model=None)
async def pause(token: str, request: Request, services: ServicesDep) -> Response:
    return await _move(request, services, token, "pause", "paused")


@router.post("/my/profile/{token}/resume", response_model=None)
async def resume(token: str, request: Request, services: ServicesDep) -> Response:
    return await _move(request, services, token, "resume", "resumed")


@router.post("/my/profile/{token}/withdraw", response_model=None)
async def leave(token: str, request: Request, services: ServicesDep) -> Response:
    form = await request.form()
    return await _move(request, services, token, "withdraw", "left", form_to_json(form))


async def _move(
    request: Request, services: ServicesDep, token: str, move: str, done: str, body: dict[str, Any] | None = None
) -> Response:
    answer = _checked(await services.resources.post(f"/api/v1/my/profile/{token}/{move}", json=body))
    if answer.status_code == 200:
        _flash(request, done)
    return _again(f"/my/profile/{token}")  # a 409 (not in a status that allows it): the page shows the status


@router.get("/my/profile/{token}/export")
async def export(token: str, services: ServicesDep) -> Response:
    """The person's data as a JSON download (reads only, so a link and not a button)."""
    answer = _checked(await services.resources.get(f"/api/v1/my/profile/{token}/export"))
    answer.raise_for_status()
    return Response(
        json.dumps(answer.json(), ensure_ascii=False, indent=2),
        media_type="application/json",
        headers={"Content-Disposition": 'attachment; filename="meet-malmo-my-data.json"'},
    )


@router.get("/my/profile/{token}/erase", response_class=HTMLResponse)
async def erase_question(token: str, request: Request, pages: PagesDep, services: ServicesDep) -> HTMLResponse:
    """The erase button's page: it cannot be undone, so it asks once more."""
    person = await _profile(services, token)
    return pages.render(request, "links/profile_erase.html", {"token": token, "person": person})


@router.post("/my/profile/{token}/erase", response_model=None)
async def erase(token: str, services: ServicesDep) -> Response:
    answer = _checked(await services.resources.request("DELETE", f"/api/v1/my/profile/{token}"))
    answer.raise_for_status()
    return _again("/my/erased")


@router.get("/my/erased", response_class=HTMLResponse)
async def erased(request: Request, pages: PagesDep) -> HTMLResponse:
    return pages.render(request, "links/erased.html")


# --- an invitation to a working group --------------------------------------------------------------


@router.get("/invitations/{token}", response_class=HTMLResponse)
async def invitation(token: str, request: Request, pages: PagesDep, services: ServicesDep) -> HTMLResponse:
    answer = _checked(await services.matching.get(f"/api/v1/invitations/{token}"))
    answer.raise_for_status()
    shown, locale = answer.json(), pages.locale(request)
    context = {
        "token": token,
        "invitation": shown,
        "why": shown["why_chosen_sv"] if locale == "sv" else shown["why_chosen_en"],
        "answer_by": format_date(datetime.fromisoformat(shown["expires_at"]).astimezone(MALMO), "long", locale=locale)
        if shown.get("expires_at")
        else None,
    }
    return pages.render(request, "links/invitation.html", context)


SEAT_WORDS = {
    "accepted": N_("You have already accepted this invitation."),
    "declined": N_("You have already declined this invitation."),
    "expired": N_("The date to answer this invitation has passed."),
}


@router.post("/invitations/{token}/new-link", response_class=HTMLResponse)
async def resend_invitation(token: str, request: Request, pages: PagesDep, services: ServicesDep) -> HTMLResponse:
    """The expired invitation link's button: matching sends the invitation again while the seat is open, else
    (409) the page says where it stands."""
    answer = _checked(await services.matching.post(f"/api/v1/invitations/{token}/new-link"), gone_is_expired=False)
    if answer.status_code == 409:
        state = str(_json(answer).get("current_status", ""))
        words = SEAT_WORDS.get(state, N_("This invitation is no longer open."))
        return pages.render(request, "links/invitation_resent.html", {"sent": False, "words": words}, status_code=409)
    answer.raise_for_status()
    return pages.render(request, "links/invitation_resent.html", {"sent": True, "words": None})


@router.post("/invitations/{token}", response_model=None)
async def answer_invitation(token: str, services: ServicesDep) -> Response:
    _checked(await services.matching.post(f"/api/v1/invitations/{token}"))  # 409: the page says where it stands
    return _again(f"/invitations/{token}")


# --- the daily digest's unsubscribe link -----------------------------------------------------------


@router.get("/unsubscribe/{token}", response_class=HTMLResponse)
async def unsubscribe_page(token: str, request: Request, pages: PagesDep, services: ServicesDep) -> HTMLResponse:
    answer = _checked(await services.notifications.get(f"/api/v1/unsubscribe/{token}"))
    answer.raise_for_status()
    context = {"token": token, "wants_digest": answer.json()["alert_mode"] == "daily_digest", "done": _done(request)}
    return pages.render(request, "links/unsubscribe.html", context)


@one_click.post("/unsubscribe/{token}", response_model=None)
async def unsubscribe(token: str, request: Request, pages: PagesDep, services: ServicesDep) -> Response:
    """The page's button (with the session's CSRF token), or a mail client's one-click POST (RFC 8058: the
    body `List-Unsubscribe=One-Click` and no session). Any other body without the token is refused."""
    form = await request.form()
    from_mail_client = list(form.multi_items()) == ONE_CLICK
    if not from_mail_client:
        await verify_csrf(request)
    _checked(await services.notifications.post(f"/api/v1/unsubscribe/{token}")).raise_for_status()
    if from_mail_client:
        return pages.render(request, "links/unsubscribe.html", {"token": token, "wants_digest": False,
                                                                 "done": DONE["unsubscribed"]})  # fmt: skip
    _flash(request, "unsubscribed")
    return _again(f"/unsubscribe/{token}")
