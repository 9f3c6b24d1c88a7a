"""The originator's private page behind the status link, with its two forms (answer, withdraw)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Response, status
from fastapi.responses import HTMLResponse, RedirectResponse

from services.intake.api import LinksDep, initiative_from_link
from services.intake.domain import Status
from services.intake.handlers import AnswerInformationRequest, GetInitiative, WithdrawInitiative
from services.intake.schemas import OriginatorView
from shared.links import InvalidLink
from shared.service import BusDep
from shared.validation import MultilineText
from shared.web import Form as PageForm
from shared.web import FormField, html_page

router = APIRouter()

STATUS_LABELS: dict[Status, tuple[str, str]] = {
    Status.SUBMITTED: ("Inskickat", "Submitted"),
    Status.INFO_REQUESTED: ("Komplettering efterfrågas", "More information requested"),
    Status.ACCEPTED: ("Antaget", "Accepted"),
    Status.REJECTED: ("Avslaget", "Rejected"),
    Status.WITHDRAWN: ("Tillbakadraget", "Withdrawn"),
    Status.GROUP_FORMING: ("Arbetsgrupp bildas", "Working group forming"),
    Status.GROUP_FORMED: ("Arbetsgrupp bildad", "Working group formed"),
    Status.CLOSED: ("Avslutat", "Closed"),
}


@router.get("/my/initiatives/{token}", tags=["originator"], response_class=HTMLResponse, include_in_schema=False)
async def my_page(token: str, bus: BusDep, links: LinksDep) -> HTMLResponse:
    try:
        initiative_id = links.read_id(token)
    except InvalidLink:
        return html_page("Länken fungerar inte", ["Kontrollera att hela länken kom med."], status_code=404)
    view = OriginatorView.from_domain(await bus.handle(GetInitiative(initiative_id)))
    forms = []
    if view.can_answer:
        forms.append(
            PageForm(
                action=f"/my/initiatives/{token}/answer",
                button="Skicka svar / Send answer",
                fields=[FormField(name="answer", label="Ditt svar / Your answer")],
            )
        )
    if view.can_withdraw:
        forms.append(
            PageForm(action=f"/my/initiatives/{token}/withdraw", button="Dra tillbaka / Withdraw", style="secondary")
        )
    facts = [("Referens / Reference", view.reference), ("Status", " / ".join(STATUS_LABELS[view.status]))]
    if view.question:
        facts.append(("Fråga från Meet Malmö / Question", view.question))
    return html_page(view.title, [view.summary], facts=facts, forms=forms)


@router.post("/my/initiatives/{token}/answer", include_in_schema=False)
async def my_answer_form(
    token: str, answer: Annotated[MultilineText, Form(min_length=1, max_length=4000)], bus: BusDep, links: LinksDep
) -> Response:
    await bus.handle(AnswerInformationRequest(initiative_from_link(links, token), answer))
    return RedirectResponse(f"/my/initiatives/{token}", status_code=status.HTTP_303_SEE_OTHER)


@router.post("/my/initiatives/{token}/withdraw", include_in_schema=False)
async def my_withdraw_form(token: str, bus: BusDep, links: LinksDep) -> Response:
    await bus.handle(WithdrawInitiative(initiative_from_link(links, token), "originator"))
    return RedirectResponse(f"/my/initiatives/{token}", status_code=status.HTTP_303_SEE_OTHER)
