"""The digest's unsubscribe link (no login).

GET /unsubscribe/{token} only shows a page with a button: mail scanners open every link. The
button's POST, or a mail client's one-click POST (RFC 8058), switches the coordinator back to
immediate alerts.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse

from services.notifications.handlers import GetUnsubscribeTarget, Unsubscribe
from shared.errors import NotFound
from shared.links import InvalidLink
from shared.service import BusDep
from shared.web import Form, RateLimit, html_page

NOT_VALID = "Länken fungerar inte / The link does not work"

router = APIRouter()


@router.get("/unsubscribe/{token}", response_class=HTMLResponse, include_in_schema=False)
async def unsubscribe_page(token: str, bus: BusDep) -> HTMLResponse:
    try:
        found = await bus.handle(GetUnsubscribeTarget(token))
    except (InvalidLink, NotFound):
        return html_page(NOT_VALID, ["Kontrollera att hela länken kom med."], status_code=404)
    if not found.wants_digest:
        return html_page(
            "Ingen daglig sammanfattning / No daily digest",
            ["Du får redan varje avisering direkt. / You already get each alert straight away."],
        )
    return html_page(
        "Avsluta den dagliga sammanfattningen / Stop the daily digest",
        ["Du får då varje avisering direkt i stället. / You will then get each alert straight away instead."],
        forms=[Form(action=f"/unsubscribe/{token}", button="Avsluta / Unsubscribe")],
    )


@router.post(
    "/unsubscribe/{token}",
    include_in_schema=False,
    dependencies=[Depends(RateLimit("notifications-unsubscribe"))],
)
async def unsubscribe(token: str, bus: BusDep) -> HTMLResponse:
    """The page's button, or a mail client's one-click POST (body List-Unsubscribe=One-Click)."""
    try:
        await bus.handle(Unsubscribe(token))
    except (InvalidLink, NotFound):
        return html_page(NOT_VALID, status_code=404)
    return html_page(
        "Sammanfattningen är avslutad / Unsubscribed",
        ["Du får varje avisering direkt från och med nu. / From now on you get each alert straight away."],
    )
