"""Notifications's request and response models. Staff see what happened to an email, not what it said:
recipients' addresses are masked and texts are never shown."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel

from services.notifications.domain import AlertMode, CoordinatorPreference, Delivery, Status, mask_address
from services.notifications.handlers import SetCoordinatorPreference
from shared.db import as_aware

LARGEST_OFFSET = 2**63 - 1  # PostgreSQL's OFFSET is a bigint


def in_utc(moment: datetime) -> datetime:
    """The moment in UTC (UTC if it names no zone); one that UTC cannot hold is refused, not a 500."""
    try:
        return as_aware(moment).astimezone(UTC)
    except OverflowError:
        raise ValueError("is out of range") from None


UtcMoment = Annotated[datetime, AfterValidator(in_utc)]


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
    def from_domain(cls, delivery: Delivery) -> DeliveryOut:
        shown = cls.model_validate(delivery, from_attributes=True)
        return shown.model_copy(
            update={
                "recipient": mask_address(delivery.recipient),
                "recipient_role": delivery.recipient_role.value,
                "next_attempt_at": delivery.next_attempt_at if delivery.status is Status.QUEUED else None,
            }
        )


class PreferenceIn(BaseModel):
    alert_mode: AlertMode
    language: Literal["sv", "en"] | None = None  # of coordinator emails; Swedish when not chosen

    def to_command(self, email: str) -> SetCoordinatorPreference:
        return SetCoordinatorPreference(email, self.alert_mode, self.language)


class PreferenceOut(BaseModel):
    alert_mode: AlertMode
    language: Literal["sv", "en"] | None

    @classmethod
    def from_domain(cls, preference: CoordinatorPreference | None) -> PreferenceOut:
        if preference is None:
            return cls(alert_mode=AlertMode.IMMEDIATE, language=None)
        language = preference.language if preference.language in ("sv", "en") else None
        return cls(alert_mode=preference.alert_mode, language=language)  # type: ignore[arg-type]
