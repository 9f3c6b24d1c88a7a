"""The invited member's pages behind the links in their email: a GET only shows the invitation, the
page's button POSTs the answer (mail scanners open links; they do not press buttons)."""

from __future__ import annotations

from fastapi import APIRouter, Response, status
from fastapi.responses import HTMLResponse, RedirectResponse

from services.matching.api import LINK_LIMIT, ClockDep
from services.matching.domain.group import SeatStatus
from services.matching.handlers import AnswerInvitation, GetInvitation
from services.matching.links import Answer
from services.matching.schemas import InvitationOut
from shared.errors import InvalidTransition
from shared.links import InvalidLink
from shared.service import BusDep
from shared.web import Form, html_page

BUTTONS = {
    Answer.ACCEPT: ("Ja, jag är med / Yes, I will join", ""),
    Answer.DECLINE: ("Nej tack / No, thank you", "secondary"),
}
ANSWERED = {
    SeatStatus.ACCEPTED: "Tack! Du är med i arbetsgruppen. / Thank you: you are in the working group.",
    SeatStatus.DECLINED: "Tack för beskedet. / Thank you for letting us know.",
}
NO_LONGER_OPEN = "Inbjudan är inte längre öppen. / The invitation is no longer open."
NOT_A_LINK = "Länken fungerar inte / The link does not work"

router = APIRouter(include_in_schema=False)


@router.get("/invitations/{token}", response_class=HTMLResponse)
async def page(token: str, bus: BusDep, clock: ClockDep) -> HTMLResponse:
    try:
        found = await bus.handle(GetInvitation(token))
    except InvalidLink:
        return html_page(NOT_A_LINK, ["Kontrollera att hela länken kom med."], status_code=404)
    view = InvitationOut.from_domain(found, clock())
    facts = [("Referens / Reference", view.initiative_reference)]
    if view.open and view.expires_at:
        facts.append(("Svara senast / Answer by", view.expires_at.strftime("%Y-%m-%d")))
    paragraphs = [view.initiative_summary]
    forms = []
    if view.open:
        button, style = BUTTONS[view.answer]
        forms.append(Form(action=f"/invitations/{token}", button=button, style=style))
    else:
        paragraphs.append(ANSWERED.get(view.status, NO_LONGER_OPEN))
    return html_page(view.initiative_title, paragraphs, facts=facts, forms=forms)


@router.post("/invitations/{token}", dependencies=LINK_LIMIT)
async def press(token: str, bus: BusDep) -> Response:
    try:
        await bus.handle(AnswerInvitation(token))
    except InvalidLink:
        return html_page(NOT_A_LINK, status_code=404)
    except InvalidTransition:
        pass  # the page says where the invitation stands
    return RedirectResponse(f"/invitations/{token}", status_code=status.HTTP_303_SEE_OTHER)
