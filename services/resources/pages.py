"""The small pages a person reaches from an email: confirm the registration, manage the profile.

A GET page only shows; every change is the POST of a button on it (mail scanners open every link).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from enum import StrEnum
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute

from services.resources.api import LinksDep
from services.resources.domain import ConfirmationLinkExpired, ConfirmationLinkReplaced, LinkState, Resource, Status
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
from services.resources.schemas import DataExport
from shared.errors import InvalidTransition, NotFound
from shared.links import InvalidLink
from shared.service import BusDep
from shared.taxonomy import COMPETENCES_SV_EN, ORGANISATION_TYPES_SV_EN, THEMES_SV_EN, Language
from shared.web import PRIVATE_PAGE_HEADERS, Form, html_page

TEXTS: dict[Language, dict[str, str]] = {
    Language.SV: {
        "confirm.title": "Bekräfta din registrering",
        "confirm.intro": "Hej {name}! Tryck på knappen för att bekräfta att du vill finnas i Meet Malmös "
        "resursregister.",
        "confirm.button": "Bekräfta",
        "confirmed.title": "Tack, nu är du registrerad",
        "confirmed.body": "Vi har skickat en länk till din profil via e-post. Där kan du ändra, pausa eller ta "
        "bort den.",
        "already_confirmed.title": "Redan bekräftad",
        "already_confirmed.body": "Den här registreringen är redan bekräftad. Du behöver inte göra något mer.",
        "expired.title": "Länken har gått ut",
        "expired.body": "Bekräftelselänken gällde i 7 dagar. Fyll i registreringen igen med samma e-postadress, "
        "så skickar vi en ny länk.",
        "replaced.title": "Länken har ersatts",
        "replaced.body": "Vi har skickat en nyare bekräftelselänk. Använd länken i det senaste mejlet, eller fyll i "
        "registreringen igen för att få en ny.",
        "profile.title": "Din profil i Meet Malmö",
        "profile.paused": "Din profil är pausad: du får inga inbjudningar till arbetsgrupper förrän du återupptar den.",
        "profile.withdrawn": "Du har lämnat resursregistret. Dina uppgifter finns kvar tills du tar bort dem.",
        "profile.pending_confirmation": "Din registrering är inte bekräftad än.",
        "pause": "Pausa",
        "resume": "Återuppta",
        "withdraw": "Lämna resursregistret",
        "export": "Ladda ner mina uppgifter",
        "erase": "Ta bort mig…",
        "erase.title": "Vill du ta bort dig?",
        "erase.body": "Alla dina uppgifter raderas i Meet Malmö. Det går inte att ångra.",
        "erase.button": "Ja, ta bort mig",
        "erased.title": "Dina uppgifter är borttagna",
        "erased.body": "Vi har raderat dina uppgifter. Tack för att du ville bidra!",
        "done.paused": "Din profil är pausad.",
        "done.active": "Din profil är aktiv igen.",
        "done.withdrawn": "Du har lämnat resursregistret.",
        "status": "Status",
        "status.pending_confirmation": "Väntar på bekräftelse",
        "status.active": "Aktiv",
        "status.paused": "Pausad",
        "status.withdrawn": "Har lämnat registret",
        "name": "Namn",
        "email": "E-post",
        "phone": "Telefon",
        "organisation": "Organisation",
        "role_title": "Roll",
        "competences": "Kompetenser",
        "themes": "Teman",
        "capacity": "Antal arbetsgrupper samtidigt",
        "hours_per_month": "Timmar per månad",
        "languages": "Språk",
    },
    Language.EN: {
        "confirm.title": "Confirm your registration",
        "confirm.intro": "Hello {name}! Press the button to confirm that you want to be in Meet Malmö's resource "
        "registry.",
        "confirm.button": "Confirm",
        "confirmed.title": "Thank you, you are registered",
        "confirmed.body": "We have emailed you a link to your profile, where you can change, pause or erase it.",
        "already_confirmed.title": "Already confirmed",
        "already_confirmed.body": "This registration is already confirmed. There is nothing more to do.",
        "expired.title": "This link has expired",
        "expired.body": "The confirmation link was valid for 7 days. Fill in the registration again with the same "
        "email address and we will send you a new link.",
        "replaced.title": "This link has been replaced",
        "replaced.body": "We have sent you a newer confirmation link. Use the link in the latest email, or fill in "
        "the registration again to get a new one.",
        "profile.title": "Your Meet Malmö profile",
        "profile.paused": "Your profile is paused: you get no invitations to working groups until you resume.",
        "profile.withdrawn": "You have left the resource registry. Your details stay until you erase them.",
        "profile.pending_confirmation": "Your registration is not confirmed yet.",
        "pause": "Pause",
        "resume": "Resume",
        "withdraw": "Leave the resource registry",
        "export": "Download my data",
        "erase": "Erase me…",
        "erase.title": "Do you want to be erased?",
        "erase.body": "All your details are deleted from Meet Malmö. This cannot be undone.",
        "erase.button": "Yes, erase me",
        "erased.title": "Your details are erased",
        "erased.body": "We have deleted your details. Thank you for wanting to contribute!",
        "done.paused": "Your profile is paused.",
        "done.active": "Your profile is active again.",
        "done.withdrawn": "You have left the resource registry.",
        "status": "Status",
        "status.pending_confirmation": "Awaiting confirmation",
        "status.active": "Active",
        "status.paused": "Paused",
        "status.withdrawn": "Left the registry",
        "name": "Name",
        "email": "Email",
        "phone": "Phone",
        "organisation": "Organisation",
        "role_title": "Role",
        "competences": "Competences",
        "themes": "Themes",
        "capacity": "Working groups at the same time",
        "hours_per_month": "Hours per month",
        "languages": "Languages",
    },
}


class PageAction(StrEnum):
    PAUSE = "pause"
    RESUME = "resume"
    WITHDRAW = "withdraw"
    EXPORT = "export"
    ERASE = "erase"


def text(lang: Language, key: str, **values: str) -> str:
    return TEXTS[lang][key].format(**values)


def label(sv_en: tuple[str, str], lang: Language) -> str:
    return sv_en[0] if lang is Language.SV else sv_en[1]


def text_page(lang: Language, key: str, status_code: int = 200, forms: list[Form] | None = None) -> HTMLResponse:
    """The page with the title `<key>.title` and the one paragraph `<key>.body`."""
    body = [text(lang, f"{key}.body")]
    return html_page(text(lang, f"{key}.title"), body, forms=forms or [], lang=lang, status_code=status_code)


def invalid_link_page() -> HTMLResponse:
    """We cannot know the person's language from a link we cannot read: both, Swedish first."""
    return html_page(
        "Länken fungerar inte · This link does not work",
        [
            "Länken är inte giltig, eller så finns profilen inte längre. Kontrollera att hela länken kom med.",
            "The link is not valid, or the profile no longer exists. Check that the whole link was copied.",
        ],
        status_code=404,
    )


class PageRoute(APIRoute):
    """Every page answers a link it cannot read, or one whose profile is gone, with the invalid-link page."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except (InvalidLink, NotFound):
                return invalid_link_page()

        return handle


def confirmation_page(token: str, resource: Resource, state: LinkState, links: PrivateLinks) -> HTMLResponse:
    p, lang = resource.profile, resource.profile.language
    if state is not LinkState.AWAITING_CONFIRMATION:  # the link can no longer confirm: the page says why
        return text_page(lang, state, 200 if state is LinkState.ALREADY_CONFIRMED else 410)
    facts = [("email", p.email), ("organisation", p.organisation_name), ("role_title", p.role_title)]
    return html_page(
        text(lang, "confirm.title"),
        [text(lang, "confirm.intro", name=p.name)],
        lang=lang,
        facts=[(text(lang, key), value) for key, value in facts],
        forms=[Form(action=links.confirmation.url_for(token), button=text(lang, "confirm.button"))],
    )


def profile_page(token: str, resource: Resource, links: PrivateLinks, done: str | None = None) -> HTMLResponse:
    """The profile, the buttons its status allows and, after a button, what it did (`done`)."""
    p, lang, status = resource.profile, resource.profile.language, resource.status
    paragraphs = [done] if done else []
    if status is not Status.ACTIVE:
        paragraphs.append(text(lang, f"profile.{status}"))
    organisation_type = label(ORGANISATION_TYPES_SV_EN[p.organisation_type], lang)
    facts = [
        (text(lang, "status"), text(lang, f"status.{status}")),
        (text(lang, "name"), p.name),
        (text(lang, "email"), p.email),
        (text(lang, "phone"), p.phone or "–"),
        (text(lang, "organisation"), f"{p.organisation_name} ({organisation_type})"),
        (text(lang, "role_title"), p.role_title),
        (text(lang, "competences"), ", ".join(label(COMPETENCES_SV_EN[c], lang) for c in p.competences)),
        (text(lang, "themes"), ", ".join(label(THEMES_SV_EN[t], lang) for t in p.themes)),
        (text(lang, "capacity"), str(p.capacity)),
        (text(lang, "hours_per_month"), str(p.hours_per_month) if p.hours_per_month else "–"),
        (text(lang, "languages"), ", ".join(p.languages)),
    ]
    base = links.profile.url_for(token)
    moves = {Status.ACTIVE: ["pause", "withdraw"], Status.PAUSED: ["resume", "withdraw"]}.get(status, [])
    forms = [
        Form(action=f"{base}/{move}", button=text(lang, move), style="" if move == "resume" else "secondary")
        for move in [*moves, "export", "erase"]
    ]
    return html_page(text(lang, "profile.title"), paragraphs, lang=lang, facts=facts, forms=forms)


router = APIRouter(default_response_class=HTMLResponse, route_class=PageRoute, include_in_schema=False)


@router.get("/confirm/{token}")
async def confirmation(token: str, bus: BusDep, links: LinksDep) -> HTMLResponse:
    """The confirmation link: shows one button, changes nothing."""
    resource, state = await bus.handle(ReadConfirmationLink(token))
    return confirmation_page(token, resource, state, links)


@router.post("/confirm/{token}")
async def confirm(token: str, bus: BusDep, links: LinksDep) -> HTMLResponse:
    """The button: confirms the registration (once)."""
    try:
        resource, confirmed = await bus.handle(ConfirmRegistration(token))
    except (ConfirmationLinkExpired, ConfirmationLinkReplaced) as refused:
        resource, _ = await bus.handle(ReadConfirmationLink(token))
        state = LinkState.EXPIRED if isinstance(refused, ConfirmationLinkExpired) else LinkState.REPLACED
        return confirmation_page(token, resource, state, links)
    return text_page(resource.profile.language, "confirmed" if confirmed else LinkState.ALREADY_CONFIRMED)


@router.get("/my/profile/{token}")
async def profile(token: str, bus: BusDep, links: LinksDep) -> HTMLResponse:
    """The private profile page: shows, with buttons; changes nothing."""
    return profile_page(token, await bus.handle(GetResource(links.profile.read_id(token))), links)


@router.post("/my/profile/{token}/{action}")
async def act(token: str, action: PageAction, bus: BusDep, links: LinksDep) -> Response:
    """A button of the profile page; erasing asks once more, on a page of its own (it cannot be undone)."""
    resource_id = links.profile.read_id(token)
    if action is PageAction.EXPORT:
        return _download(*await bus.handle(ExportPersonalData(resource_id)))
    if action is PageAction.ERASE:
        lang = (await bus.handle(GetResource(resource_id))).profile.language
        erase = Form(action=f"{links.profile.url_for(token)}/erase/confirmed", button=text(lang, "erase.button"))
        return text_page(lang, "erase", forms=[erase])
    command = {
        PageAction.PAUSE: PauseResource(resource_id),
        PageAction.RESUME: ResumeResource(resource_id),
        PageAction.WITHDRAW: WithdrawResource(resource_id),
    }[action]
    try:
        resource = await bus.handle(command)
    except InvalidTransition:
        resource = await bus.handle(GetResource(resource_id))
    if resource.status is Status.PENDING_CONFIRMATION:  # nothing moved: the link was not confirmed yet
        return profile_page(token, resource, links)
    return profile_page(token, resource, links, text(resource.profile.language, f"done.{resource.status}"))


@router.post("/my/profile/{token}/erase/confirmed")
async def erase(token: str, bus: BusDep, links: LinksDep) -> HTMLResponse:
    """The erase button's second step: erases."""
    resource_id = links.profile.read_id(token)
    resource = await bus.handle(GetResource(resource_id))
    await bus.handle(EraseResource(resource_id))
    return text_page(resource.profile.language, "erased")


def _download(resource: Resource, events: list[dict[str, object]]) -> Response:
    body = json.dumps(DataExport.from_domain(resource, events).model_dump(mode="json"), ensure_ascii=False, indent=2)
    return Response(
        body,
        media_type="application/json",
        headers={**PRIVATE_PAGE_HEADERS, "Content-Disposition": 'attachment; filename="meet-malmo-my-data.json"'},
    )
