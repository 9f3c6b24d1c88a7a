"""Notifications's staff API: the delivery log (list, look at one, retry a failed one) and each
coordinator's choice of immediate alerts or a daily digest; and the digest's unsubscribe link, which
opens the web's page and needs no login."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query

from services.notifications.domain import DeliveryFilter, RecipientRole, Status, Template
from services.notifications.handlers import (
    FindDeliveries,
    GetDelivery,
    GetPreference,
    GetUnsubscribeTarget,
    RetryDelivery,
    Unsubscribe,
)
from services.notifications.schemas import LARGEST_OFFSET, DeliveryOut, PreferenceIn, PreferenceOut, UtcMoment
from shared.auth import CoordinatorDep, Staff, StaffReaderDep
from shared.errors import NotFound
from shared.links import InvalidLink
from shared.openapi import CONFLICT, GONE_LINK, NOT_FOUND, TOO_LARGE, errors
from shared.service import BusDep
from shared.web import Page, RateLimit

router = APIRouter()


def _own_address(staff: Staff) -> str:
    if not staff.email:
        raise HTTPException(403, "the token carries no email address")
    return staff.email


@router.get(
    "/api/v1/deliveries", tags=["deliveries"], summary="The delivery log, newest first (coordinator or operator)"
)
async def list_deliveries(
    _: StaffReaderDep,
    bus: BusDep,
    status: Annotated[Status | None, Query(description="only deliveries in this state")] = None,
    template: Annotated[Template | None, Query(description="only emails made from this template")] = None,
    recipient_role: Annotated[RecipientRole | None, Query(description="only emails to this kind of recipient")] = None,
    created_from: Annotated[
        UtcMoment | None, Query(alias="from", description="created at or after (ISO 8601; UTC if no zone)")
    ] = None,
    created_until: Annotated[
        UtcMoment | None, Query(alias="until", description="created before (ISO 8601; UTC if no zone)")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200, description="at most this many deliveries")] = 50,
    offset: Annotated[int, Query(ge=0, le=LARGEST_OFFSET, description="skip this many (for the next page)")] = 0,
) -> Page[DeliveryOut]:
    """Every email the platform queued, newest first, with what became of it (queued, sent, failed, held
    for a digest ...). For a coordinator or an operator; addresses are masked and texts never shown."""
    filters = DeliveryFilter(
        status=status,
        template=template.value if template else None,
        recipient_role=recipient_role,
        created_from=created_from,
        created_until=created_until,
    )
    found, total = await bus.handle(FindDeliveries(filters, limit, offset))
    return Page(items=[DeliveryOut.from_domain(d) for d in found], total=total, limit=limit, offset=offset)


@router.get(
    "/api/v1/deliveries/{delivery_id}",
    tags=["deliveries"],
    summary="One delivery (coordinator or operator)",
    responses=errors(NOT_FOUND),
)
async def get_delivery(_: StaffReaderDep, bus: BusDep, delivery_id: uuid.UUID) -> DeliveryOut:
    """One email of the log: its state, attempts and last error, with the address masked (null once the
    person was erased). For a coordinator or an operator."""
    return DeliveryOut.from_domain(await bus.handle(GetDelivery(delivery_id)))


@router.post(
    "/api/v1/deliveries/{delivery_id}/retry",
    tags=["deliveries"],
    summary="Send a failed or unknown delivery again (coordinator); 409 unless it failed or is unknown",
    responses=errors(NOT_FOUND, CONFLICT),
)
async def retry_delivery(_: CoordinatorDep, bus: BusDep, delivery_id: uuid.UUID) -> DeliveryOut:
    """A failed email goes into the queue again with a fresh budget of attempts, and the sender tries it
    at once (e.g. after the recipient's mailbox was fixed). An email whose outcome is unknown (the server
    never answered after the message was handed over, so it may have arrived) is sent again only this way,
    deliberately. Only a delivery whose address and text are still kept can be sent again; anything else
    is 409. For a coordinator: operators only read the log (403)."""
    return DeliveryOut.from_domain(await bus.handle(RetryDelivery(delivery_id)))


@router.get("/api/v1/preferences/me", tags=["preferences"], summary="My alerts: immediate or a daily digest")
async def my_preference(staff: CoordinatorDep, bus: BusDep) -> PreferenceOut:
    """How the calling coordinator gets their alerts (by the email address in their token): each one
    straight away (the default) or the day's in one digest, and in which language."""
    return PreferenceOut.from_domain(await bus.handle(GetPreference(_own_address(staff))))


@router.put(
    "/api/v1/preferences/me",
    tags=["preferences"],
    summary="Choose immediate alerts or a daily digest",
    responses=errors(TOO_LARGE),
)
async def set_my_preference(staff: CoordinatorDep, bus: BusDep, body: PreferenceIn) -> PreferenceOut:
    """The calling coordinator chooses each alert straight away, or all of a day's alerts in one digest
    at the digest hour (Malmö time), and the language of their emails. From the next alert on, a digest
    holds them; the digest's unsubscribe link switches back to immediate alerts."""
    return PreferenceOut.from_domain(await bus.handle(body.to_command(_own_address(staff))))


# The digest's unsubscribe link: a GET only reads (mail scanners open every link); the web's page button, or a
# mail client's one-click POST (RFC 8058) that the web passes on, switches back to immediate alerts.


@router.get(
    "/api/v1/unsubscribe/{token}",
    tags=["preferences"],
    summary="What the digest's unsubscribe link would change (changes nothing)",
    responses=errors(NOT_FOUND, GONE_LINK),
)
async def unsubscribe_target(token: str, bus: BusDep) -> PreferenceOut:
    """For whoever holds the unsubscribe link of a daily digest (`token` is its last part; no login): how that
    coordinator gets their alerts now. `daily_digest` means the POST would switch them to immediate alerts;
    `immediate` means there is nothing to stop. 404 for a link that is not valid,
    410 for an expired one or one a later digest replaced."""
    try:
        return PreferenceOut.from_domain(await bus.handle(GetUnsubscribeTarget(token)))
    except (InvalidLink, NotFound):
        raise HTTPException(404, "this link is not valid") from None


@router.post(
    "/api/v1/unsubscribe/{token}",
    tags=["preferences"],
    summary="Stop the daily digest: each alert comes straight away again",
    responses=errors(NOT_FOUND, GONE_LINK),
    dependencies=[Depends(RateLimit("notifications-unsubscribe"))],
)
async def unsubscribe(token: str, bus: BusDep) -> PreferenceOut:
    """The unsubscribe link's button, or a mail client's one-click unsubscribe (RFC 8058) passed on by the web:
    the coordinator the link names gets each alert straight away from now on (answered as `immediate`); they
    can choose the digest again with PUT /api/v1/preferences/me. Pressing again changes nothing. 404 for a link
    that is not valid."""
    try:
        await bus.handle(Unsubscribe(token))
        return PreferenceOut.from_domain(await bus.handle(GetUnsubscribeTarget(token)))
    except (InvalidLink, NotFound):
        raise HTTPException(404, "this link is not valid") from None
