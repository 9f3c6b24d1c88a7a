"""Notifications's HTTP edge: the staff API over the delivery log (list, look at one, retry a failed one).

Recipients' addresses are masked and texts are not shown: staff see what happened, not what was sent.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from services.notifications import handlers
from services.notifications.db import DeliveryFilter, NotificationsUnitOfWork
from services.notifications.domain import Delivery, Status, Template, mask_address
from shared.auth import StaffReaderDep
from shared.db import as_aware
from shared.web import Page


class DeliveryOut(BaseModel):
    id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    template: str
    recipient: str | None  # masked; null once erased
    recipient_role: str
    language: str
    subject: str
    status: Status
    attempts: int
    last_error: str | None
    next_attempt_at: datetime | None
    sent_at: datetime | None
    message_id: str
    erased: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, delivery: Delivery) -> DeliveryOut:
        return cls(
            id=delivery.id,
            event_id=delivery.event_id,
            event_type=delivery.event_type,
            template=delivery.template,
            recipient=mask_address(delivery.recipient),
            recipient_role=delivery.recipient_role.value,
            language=delivery.language,
            subject=delivery.subject,
            status=delivery.status,
            attempts=delivery.attempts,
            last_error=delivery.last_error,
            next_attempt_at=delivery.next_attempt_at if delivery.status is Status.QUEUED else None,
            sent_at=delivery.sent_at,
            message_id=delivery.message_id,
            erased=delivery.erased,
            created_at=delivery.created_at,
            updated_at=delivery.updated_at,
        )


def build_router(uow_factory: Callable[[], NotificationsUnitOfWork]) -> APIRouter:
    router = APIRouter(prefix="/api/v1/deliveries", tags=["deliveries"])

    @router.get("", summary="The delivery log, newest first (coordinator or operator)")
    async def list_deliveries(
        _: StaffReaderDep,
        status: Status | None = None,
        template: Template | None = None,
        created_from: Annotated[
            datetime | None, Query(alias="from", description="created at or after (ISO 8601; UTC if no zone)")
        ] = None,
        created_until: Annotated[
            datetime | None, Query(alias="until", description="created before (ISO 8601; UTC if no zone)")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> Page[DeliveryOut]:
        where = DeliveryFilter(
            status=status,
            template=template.value if template else None,
            created_from=as_aware(created_from) if created_from else None,
            created_until=as_aware(created_until) if created_until else None,
        )
        found, total = await handlers.list_deliveries(uow_factory(), where, limit, offset)
        return Page(items=[DeliveryOut.of(d) for d in found], total=total, limit=limit, offset=offset)

    @router.get("/{delivery_id}", summary="One delivery (coordinator or operator)")
    async def get_delivery(_: StaffReaderDep, delivery_id: uuid.UUID) -> DeliveryOut:
        return DeliveryOut.of(await handlers.find_delivery(uow_factory(), delivery_id))

    @router.post(
        "/{delivery_id}/retry",
        summary="Queue a failed delivery again (coordinator or operator); 409 unless it failed",
    )
    async def retry_delivery(_: StaffReaderDep, delivery_id: uuid.UUID) -> DeliveryOut:
        return DeliveryOut.of(await handlers.retry_delivery(uow_factory(), delivery_id))

    return router
