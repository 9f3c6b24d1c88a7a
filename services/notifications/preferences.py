"""A coordinator's alert preference (staff API), and the digest's unsubscribe link (no login).

GET /unsubscribe/{token} only shows a page with a button: mail scanners open every link. The
button's POST, or a mail client's one-click POST (RFC 8058), switches the coordinator back to
immediate alerts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from fastapi import APIRouter, Depends, HTTPException, status
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

from services.notifications import digests
from services.notifications.db import CoordinatorPreference, NotificationsUnitOfWork
from services.notifications.domain import AlertMode
from services.notifications.links import UnsubscribeLinks
from shared.auth import CoordinatorDep, Staff
from shared.errors import NotFound
from shared.web import Form, RateLimit, html_page

NOT_VALID = "Länken fungerar inte / The link does not work"


class PreferenceIn(BaseModel):
    alert_mode: AlertMode
    language: Literal["sv", "en"] | None = None  # of coordinator emails; Swedish when not chosen


class PreferenceOut(BaseModel):
    alert_mode: AlertMode
    language: Literal["sv", "en"] | None

    @classmethod
    def of(cls, preference: CoordinatorPreference | None) -> PreferenceOut:
        if preference is None:
            return cls(alert_mode=AlertMode.IMMEDIATE, language=None)
        language = preference.language if preference.language in ("sv", "en") else None
        return cls(alert_mode=preference.alert_mode, language=language)  # type: ignore[arg-type]


def _own_address(staff: Staff) -> str:
    if not staff.email:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "the token carries no email address")
    return staff.email


def build_router(
    uow_factory: Callable[[], NotificationsUnitOfWork], links: UnsubscribeLinks, public_rate_limit: str
) -> APIRouter:
    router = APIRouter()
    link_limit = RateLimit(public_rate_limit, "notifications-unsubscribe")

    @router.get("/api/v1/preferences/me", tags=["preferences"], summary="My alerts: immediate or a daily digest")
    async def my_preference(staff: CoordinatorDep) -> PreferenceOut:
        return PreferenceOut.of(await digests.preference_of(uow_factory(), _own_address(staff)))

    @router.put("/api/v1/preferences/me", tags=["preferences"], summary="Choose immediate alerts or a daily digest")
    async def set_my_preference(staff: CoordinatorDep, body: PreferenceIn) -> PreferenceOut:
        found = await digests.set_preference(uow_factory(), _own_address(staff), body.alert_mode, body.language)
        return PreferenceOut.of(found)

    @router.get("/unsubscribe/{token}", response_class=HTMLResponse, include_in_schema=False)
    async def unsubscribe_page(token: str) -> HTMLResponse:
        try:
            found = await digests.unsubscribe_target(uow_factory(), links, token)
        except (ValueError, NotFound):
            return html_page(NOT_VALID, ["Kontrollera att hela länken kom med."], status_code=404)
        if found.alert_mode is not AlertMode.DAILY_DIGEST:
            return html_page(
                "Ingen daglig sammanfattning / No daily digest",
                ["Du får redan varje avisering direkt. / You already get each alert straight away."],
            )
        return html_page(
            "Avsluta den dagliga sammanfattningen / Stop the daily digest",
            ["Du får då varje avisering direkt i stället. / You will then get each alert straight away instead."],
            forms=[Form(action=f"/unsubscribe/{token}", button="Avsluta / Unsubscribe")],
        )

    @router.post("/unsubscribe/{token}", include_in_schema=False, dependencies=[Depends(link_limit)])
    async def unsubscribe(token: str) -> HTMLResponse:
        """The page's button, or a mail client's one-click POST (body List-Unsubscribe=One-Click)."""
        try:
            await digests.unsubscribe(uow_factory(), links, token)
        except (ValueError, NotFound):
            return html_page(NOT_VALID, status_code=404)
        return html_page(
            "Sammanfattningen är avslutad / Unsubscribed",
            ["Du får varje avisering direkt från och med nu. / From now on you get each alert straight away."],
        )

    return router
