"""The small pages a person reaches from an email: confirm the registration, manage the profile.

A GET page only shows; every change is the POST of a button on it (mail scanners open every link).
"""

from __future__ import annotations

import json
from enum import StrEnum

from fastapi import APIRouter, Response
from fastapi.responses import HTMLResponse

from services.resources.domain import (
    ConfirmationLinkExpired,
    ConfirmationLinkReplaced,
    LinkState,
    Resource,
    Status,
)
from services.resources.handlers import ResourceHandlers
from services.resources.links import PrivateLinks
from services.resources.schemas import DataExport
from shared.errors import InvalidTransition, NotFound
from shared.links import InvalidLink
from shared.taxonomy import COMPETENCES_SV_EN, ORGANISATION_TYPES_SV_EN, THEMES_SV_EN, Language
from shared.web import PRIVATE_PAGE_HEADERS, Form, html_page

PRIVATE = PRIVATE_PAGE_HEADERS

TEXTS: dict[Language, dict[str, str]] = {
    Language.SV: {
        "confirm.title": "Bekräfta din registrering",
        "confirm.intro": "Hej {name}! Tryck på knappen för att bekräfta att du vill finnas i Meet Malmös "
        "resursregister.",
        "confirm.button": "Bekräfta",
        "confirmed.title": "Tack, nu är du registrerad",
        "confirmed.body": "Vi har skickat en länk till din profil via e-post. Där kan du ändra, pausa eller ta "
        "bort den.",
        "already.title": "Redan bekräftad",
        "already.body": "Den här registreringen är redan bekräftad. Du behöver inte göra något mer.",
        "expired.title": "Länken har gått ut",
        "expired.body": "Bekräftelselänken gällde i 7 dagar. Fyll i registreringen igen med samma e-postadress, "
        "så skickar vi en ny länk.",
        "replaced.title": "Länken har ersatts",
        "replaced.body": "Vi har skickat en nyare bekräftelselänk. Använd länken i det senaste mejlet, eller fyll i "
        "registreringen igen för att få en ny.",
        "profile.title": "Din profil i Meet Malmö",
        "profile.paused": "Din profil är pausad: du får inga inbjudningar till arbetsgrupper förrän du återupptar den.",
        "profile.withdrawn": "Du har lämnat resursregistret. Dina uppgifter finns kvar tills du tar bort dem.",
        "profile.pending": "Din registrering är inte bekräftad än.",
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
        "already.title": "Already confirmed",
        "already.body": "This registration is already confirmed. There is nothing more to do.",
        "expired.title": "This link has expired",
        "expired.body": "The confirmation link was valid for 7 days. Fill in the registration again with the same "
        "email address and we will send you a new link.",
        "replaced.title": "This link has been replaced",
        "replaced.body": "We have sent you a newer confirmation link. Use the link in the latest email, or fill in "
        "the registration again to get a new one.",
        "profile.title": "Your Meet Malmö profile",
        "profile.paused": "Your profile is paused: you get no invitations to working groups until you resume.",
        "profile.withdrawn": "You have left the resource registry. Your details stay until you erase them.",
        "profile.pending": "Your registration is not confirmed yet.",
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
STATUS_LABELS = {
    Language.SV: {
        Status.PENDING_CONFIRMATION: "Väntar på bekräftelse",
        Status.ACTIVE: "Aktiv",
        Status.PAUSED: "Pausad",
        Status.WITHDRAWN: "Har lämnat registret",
    },
    Language.EN: {
        Status.PENDING_CONFIRMATION: "Awaiting confirmation",
        Status.ACTIVE: "Active",
        Status.PAUSED: "Paused",
        Status.WITHDRAWN: "Left the registry",
    },
}


class PageAction(StrEnum):
    PAUSE = "pause"
    RESUME = "resume"
    WITHDRAW = "withdraw"
    EXPORT = "export"
    ERASE = "erase"


def _label(sv_en: tuple[str, str], lang: Language) -> str:
    return sv_en[0] if lang is Language.SV else sv_en[1]


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


def text(lang: Language, key: str, **values: str) -> str:
    return TEXTS[lang][key].format(**values)


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
        forms=[Form(action=links.confirm_url_for(token), button=text(lang, "confirm.button"))],
    )


def profile_page(token: str, resource: Resource, links: PrivateLinks, notice: str | None = None) -> HTMLResponse:
    p, lang = resource.profile, resource.profile.language
    base = links.profile_url_for(token)
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
            f"{p.organisation_name} ({_label(ORGANISATION_TYPES_SV_EN[p.organisation_type], lang)})",
        ),
        (text(lang, "role_title"), p.role_title),
        (text(lang, "competences"), ", ".join(_label(COMPETENCES_SV_EN[c], lang) for c in p.competences)),
        (text(lang, "themes"), ", ".join(_label(THEMES_SV_EN[t], lang) for t in p.themes)),
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


def build_pages(handlers: ResourceHandlers, links: PrivateLinks) -> APIRouter:
    router = APIRouter(tags=["pages"], default_response_class=HTMLResponse)

    @router.get("/confirm/{token}", summary="The confirmation link: shows one button, changes nothing")
    async def confirmation(token: str) -> HTMLResponse:
        try:
            resource, state = await handlers.confirmation_link(token)
        except (InvalidLink, NotFound):
            return invalid_link_page()
        return confirmation_page(token, resource, state, links)

    @router.post("/confirm/{token}", summary="The button: confirms the registration (once)")
    async def confirm(token: str) -> HTMLResponse:
        try:
            resource, confirmed = await handlers.confirm(token)
        except (InvalidLink, NotFound):
            return invalid_link_page()
        except ConfirmationLinkExpired:
            resource, _ = await handlers.confirmation_link(token)
            return confirmation_page(token, resource, LinkState.EXPIRED, links)
        except ConfirmationLinkReplaced:
            resource, _ = await handlers.confirmation_link(token)
            return confirmation_page(token, resource, LinkState.REPLACED, links)
        lang = resource.profile.language
        if not confirmed:
            return page(text(lang, "already.title"), [text(lang, "already.body")], lang=lang)
        return page(text(lang, "confirmed.title"), [text(lang, "confirmed.body")], lang=lang)

    @router.get("/my/profile/{token}", summary="The private profile page: shows, with buttons; changes nothing")
    async def profile(token: str) -> HTMLResponse:
        try:
            resource = await handlers.get(links.read_profile(token))
        except (InvalidLink, NotFound):
            return invalid_link_page()
        return profile_page(token, resource, links)

    @router.post("/my/profile/{token}/{action}", summary="A button of the profile page")
    async def act(token: str, action: PageAction) -> Response:
        try:
            resource_id = links.read_profile(token)
            if action is PageAction.EXPORT:
                return _download(*await handlers.export(resource_id))
            if action is PageAction.ERASE:  # irreversible: ask once more, on a page of its own
                return _erase_question(token, await handlers.get(resource_id), links)
            if action is PageAction.PAUSE:
                resource = await handlers.pause(resource_id)
            elif action is PageAction.RESUME:
                resource = await handlers.resume(resource_id)
            else:
                resource = await handlers.withdraw(resource_id, None)
        except (InvalidLink, NotFound):
            return invalid_link_page()
        except InvalidTransition:
            resource = await handlers.get(resource_id)
        done = {Status.PAUSED: "done.paused", Status.ACTIVE: "done.active", Status.WITHDRAWN: "done.withdrawn"}
        notice = text(resource.profile.language, done[resource.status]) if resource.status in done else None
        return profile_page(token, resource, links, notice)

    @router.post("/my/profile/{token}/erase/confirmed", summary="The erase button's second step: erases")
    async def erase(token: str) -> HTMLResponse:
        try:
            resource_id = links.read_profile(token)
            lang = (await handlers.get(resource_id)).profile.language
            await handlers.erase(resource_id)
        except (InvalidLink, NotFound):
            return invalid_link_page()
        return page(text(lang, "erased.title"), [text(lang, "erased.body")], lang=lang)

    return router


def _erase_question(token: str, resource: Resource, links: PrivateLinks) -> HTMLResponse:
    lang = resource.profile.language
    return page(
        text(lang, "erase.title"),
        [text(lang, "erase.body")],
        lang=lang,
        forms=[Form(action=f"{links.profile_url_for(token)}/erase/confirmed", button=text(lang, "erase.button"))],
    )


def _download(resource: Resource, events: list[dict[str, object]]) -> Response:
    body = json.dumps(DataExport.of(resource, events).model_dump(mode="json"), ensure_ascii=False, indent=2)
    return Response(
        body,
        media_type="application/json",
        headers={**PRIVATE, "Content-Disposition": 'attachment; filename="meet-malmo-my-data.json"'},
    )
