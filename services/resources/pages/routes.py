"""The private pages' routes, and how each page is built from the resource it shows."""

from __future__ import annotations

import json
from enum import StrEnum

from fastapi import APIRouter, Response
from fastapi.responses import HTMLResponse

from services.resources.api import LinksDep
from services.resources.domain import (
    ConfirmationLinkExpired,
    ConfirmationLinkReplaced,
    LinkState,
    Resource,
    Status,
)
from services.resources.handlers import (
    ConfirmRegistration,
    EraseResource,
    ExportPersonalData,
    GetResource,
    PauseResource,
    ReadConfirmationLink,
    ResumeResource,
    WithdrawResource,
)
from services.resources.links import PrivateLinks
from services.resources.pages.texts import STATUS_LABELS, label, text
from services.resources.schemas import DataExport
from shared.errors import InvalidTransition, NotFound
from shared.links import InvalidLink
from shared.service import BusDep
from shared.taxonomy import COMPETENCES_SV_EN, ORGANISATION_TYPES_SV_EN, THEMES_SV_EN, Language
from shared.web import PRIVATE_PAGE_HEADERS, Form, html_page

PRIVATE = PRIVATE_PAGE_HEADERS


class PageAction(StrEnum):
    PAUSE = "pause"
    RESUME = "resume"
    WITHDRAW = "withdraw"
    EXPORT = "export"
    ERASE = "erase"


def page(
    title: str,
    paragraphs: list[str],
    *,
    lang: Language = Language.SV,
    facts: list[tuple[str, str]] | None = None,
    forms: list[Form] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    response = html_page(
        title, paragraphs, facts=facts or [], forms=forms or [], lang=lang.value, status_code=status_code
    )
    response.headers.update(PRIVATE)
    return response


def invalid_link_page() -> HTMLResponse:
    """We cannot know the person's language from a link we cannot read: both, Swedish first."""
    return page(
        "Länken fungerar inte · This link does not work",
        [
            "Länken är inte giltig, eller så finns profilen inte längre. Kontrollera att hela länken kom med.",
            "The link is not valid, or the profile no longer exists. Check that the whole link was copied.",
        ],
        status_code=404,
    )


def confirmation_page(token: str, resource: Resource, state: LinkState, links: PrivateLinks) -> HTMLResponse:
    lang = resource.profile.language
    if state is LinkState.ALREADY_CONFIRMED:
        return page(text(lang, "already.title"), [text(lang, "already.body")], lang=lang)
    if state is LinkState.EXPIRED:
        return page(text(lang, "expired.title"), [text(lang, "expired.body")], lang=lang, status_code=410)
    if state is LinkState.REPLACED:
        return page(text(lang, "replaced.title"), [text(lang, "replaced.body")], lang=lang, status_code=410)
    p = resource.profile
    return page(
        text(lang, "confirm.title"),
        [text(lang, "confirm.intro", name=p.name)],
        lang=lang,
        facts=[
            (text(lang, "email"), p.email),
            (text(lang, "organisation"), p.organisation_name),
            (text(lang, "role_title"), p.role_title),
        ],
        forms=[Form(action=links.confirmation.url_for(token), button=text(lang, "confirm.button"))],
    )


def profile_page(token: str, resource: Resource, links: PrivateLinks, notice: str | None = None) -> HTMLResponse:
    p, lang = resource.profile, resource.profile.language
    base = links.profile.url_for(token)
    paragraphs = [notice] if notice else []
    if resource.status is Status.PAUSED:
        paragraphs.append(text(lang, "profile.paused"))
    elif resource.status is Status.WITHDRAWN:
        paragraphs.append(text(lang, "profile.withdrawn"))
    elif resource.status is Status.PENDING_CONFIRMATION:
        paragraphs.append(text(lang, "profile.pending"))
    facts = [
        (text(lang, "status"), STATUS_LABELS[lang][resource.status]),
        (text(lang, "name"), p.name),
        (text(lang, "email"), p.email),
        (text(lang, "phone"), p.phone or "–"),
        (
            text(lang, "organisation"),
            f"{p.organisation_name} ({label(ORGANISATION_TYPES_SV_EN[p.organisation_type], lang)})",
        ),
        (text(lang, "role_title"), p.role_title),
        (text(lang, "competences"), ", ".join(label(COMPETENCES_SV_EN[c], lang) for c in p.competences)),
        (text(lang, "themes"), ", ".join(label(THEMES_SV_EN[t], lang) for t in p.themes)),
        (text(lang, "capacity"), str(p.capacity)),
        (text(lang, "hours_per_month"), str(p.hours_per_month) if p.hours_per_month else "–"),
        (text(lang, "languages"), ", ".join(p.languages)),
    ]
    forms = []
    if resource.status is Status.ACTIVE:
        forms.append(Form(action=f"{base}/pause", button=text(lang, "pause"), style="secondary"))
    if resource.status is Status.PAUSED:
        forms.append(Form(action=f"{base}/resume", button=text(lang, "resume")))
    if resource.status in {Status.ACTIVE, Status.PAUSED}:
        forms.append(Form(action=f"{base}/withdraw", button=text(lang, "withdraw"), style="secondary"))
    forms.append(Form(action=f"{base}/export", button=text(lang, "export"), style="secondary"))
    forms.append(Form(action=f"{base}/erase", button=text(lang, "erase"), style="secondary"))
    return page(text(lang, "profile.title"), paragraphs, lang=lang, facts=facts, forms=forms)


router = APIRouter(tags=["pages"], default_response_class=HTMLResponse)


@router.get("/confirm/{token}", summary="The confirmation link: shows one button, changes nothing")
async def confirmation(token: str, bus: BusDep, links: LinksDep) -> HTMLResponse:
    try:
        resource, state = await bus.handle(ReadConfirmationLink(token))
    except (InvalidLink, NotFound):
        return invalid_link_page()
    return confirmation_page(token, resource, state, links)


@router.post("/confirm/{token}", summary="The button: confirms the registration (once)")
async def confirm(token: str, bus: BusDep, links: LinksDep) -> HTMLResponse:
    try:
        resource, confirmed = await bus.handle(ConfirmRegistration(token))
    except (InvalidLink, NotFound):
        return invalid_link_page()
    except (ConfirmationLinkExpired, ConfirmationLinkReplaced) as refused:
        resource, _ = await bus.handle(ReadConfirmationLink(token))
        state = LinkState.EXPIRED if isinstance(refused, ConfirmationLinkExpired) else LinkState.REPLACED
        return confirmation_page(token, resource, state, links)
    lang = resource.profile.language
    if not confirmed:
        return page(text(lang, "already.title"), [text(lang, "already.body")], lang=lang)
    return page(text(lang, "confirmed.title"), [text(lang, "confirmed.body")], lang=lang)


@router.get("/my/profile/{token}", summary="The private profile page: shows, with buttons; changes nothing")
async def profile(token: str, bus: BusDep, links: LinksDep) -> HTMLResponse:
    try:
        resource = await bus.handle(GetResource(links.profile.read_id(token)))
    except (InvalidLink, NotFound):
        return invalid_link_page()
    return profile_page(token, resource, links)


@router.post("/my/profile/{token}/{action}", summary="A button of the profile page")
async def act(token: str, action: PageAction, bus: BusDep, links: LinksDep) -> Response:
    try:
        resource_id = links.profile.read_id(token)
        if action is PageAction.EXPORT:
            return _download(*await bus.handle(ExportPersonalData(resource_id)))
        if action is PageAction.ERASE:  # irreversible: ask once more, on a page of its own
            return _erase_question(token, await bus.handle(GetResource(resource_id)), links)
        command = {
            PageAction.PAUSE: PauseResource(resource_id),
            PageAction.RESUME: ResumeResource(resource_id),
            PageAction.WITHDRAW: WithdrawResource(resource_id),
        }[action]
        resource = await bus.handle(command)
    except (InvalidLink, NotFound):
        return invalid_link_page()
    except InvalidTransition:
        resource = await bus.handle(GetResource(resource_id))
    done = {Status.PAUSED: "done.paused", Status.ACTIVE: "done.active", Status.WITHDRAWN: "done.withdrawn"}
    notice = text(resource.profile.language, done[resource.status]) if resource.status in done else None
    return profile_page(token, resource, links, notice)


@router.post("/my/profile/{token}/erase/confirmed", summary="The erase button's second step: erases")
async def erase(token: str, bus: BusDep, links: LinksDep) -> HTMLResponse:
    try:
        resource_id = links.profile.read_id(token)
        resource = await bus.handle(GetResource(resource_id))
        await bus.handle(EraseResource(resource_id))
    except (InvalidLink, NotFound):
        return invalid_link_page()
    lang = resource.profile.language
    return page(text(lang, "erased.title"), [text(lang, "erased.body")], lang=lang)


def _erase_question(token: str, resource: Resource, links: PrivateLinks) -> HTMLResponse:
    lang = resource.profile.language
    return page(
        text(lang, "erase.title"),
        [text(lang, "erase.body")],
        lang=lang,
        forms=[Form(action=f"{links.profile.url_for(token)}/erase/confirmed", button=text(lang, "erase.button"))],
    )


def _download(resource: Resource, events: list[dict[str, object]]) -> Response:
    body = json.dumps(DataExport.from_domain(resource, events).model_dump(mode="json"), ensure_ascii=False, indent=2)
    return Response(
        body,
        media_type="application/json",
        headers={**PRIVATE, "Content-Disposition": 'attachment; filename="meet-malmo-my-data.json"'},
    )
