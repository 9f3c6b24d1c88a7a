"""Notifications's staff API: the delivery log (list, look at one, retry a failed one) and each
coordinator's choice of immediate alerts or a daily digest."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from services.notifications.domain import DeliveryFilter, Status, Template
from services.notifications.handlers import FindDeliveries, GetDelivery, GetPreference, RetryDelivery
from services.notifications.schemas import LARGEST_OFFSET, DeliveryOut, PreferenceIn, PreferenceOut, UtcMoment
from shared.auth import CoordinatorDep, Staff, StaffReaderDep
from shared.service import BusDep
from shared.web import Page

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
    status: Status | None = None,
    template: Template | None = None,
    created_from: Annotated[
        UtcMoment | None, Query(alias="from", description="created at or after (ISO 8601; UTC if no zone)")
    ] = None,
    created_until: Annotated[
        UtcMoment | None, Query(alias="until", description="created before (ISO 8601; UTC if no zone)")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=LARGEST_OFFSET)] = 0,
) -> Page[DeliveryOut]:
    filters = DeliveryFilter(
        status=status,
        template=template.value if template else None,
        created_from=created_from,
        created_until=created_until,
    )
    found, total = await bus.handle(FindDeliveries(filters, limit, offset))
    return Page(items=[DeliveryOut.from_domain(d) for d in found], total=total, limit=limit, offset=offset)


@router.get("/api/v1/deliveries/{delivery_id}", tags=["deliveries"], summary="One delivery (coordinator or operator)")
async def get_delivery(_: StaffReaderDep, bus: BusDep, delivery_id: uuid.UUID) -> DeliveryOut:
    return DeliveryOut.from_domain(await bus.handle(GetDelivery(delivery_id)))


@router.post(
    "/api/v1/deliveries/{delivery_id}/retry",
    tags=["deliveries"],
    summary="Queue a failed delivery again (coordinator or operator); 409 unless it failed",
)
async def retry_delivery(_: StaffReaderDep, bus: BusDep, delivery_id: uuid.UUID) -> DeliveryOut:
    return DeliveryOut.from_domain(await bus.handle(RetryDelivery(delivery_id)))


@router.get("/api/v1/preferences/me", tags=["preferences"], summary="My alerts: immediate or a daily digest")
async def my_preference(staff: CoordinatorDep, bus: BusDep) -> PreferenceOut:
    return PreferenceOut.from_domain(await bus.handle(GetPreference(_own_address(staff))))


@router.put("/api/v1/preferences/me", tags=["preferences"], summary="Choose immediate alerts or a daily digest")
async def set_my_preference(staff: CoordinatorDep, bus: BusDep, body: PreferenceIn) -> PreferenceOut:
    return PreferenceOut.from_domain(await bus.handle(body.to_command(_own_address(staff))))
