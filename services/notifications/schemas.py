"""Notifications's request and response models. Staff see what happened to an email, not what it said:
recipients' addresses are masked and texts are never shown."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

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
    """One email of the delivery log as staff see it: what became of it, never what it said."""

    id: uuid.UUID
    event_id: uuid.UUID = Field(description="the event that caused it (one email per event, recipient and template)")
    event_type: str = Field(examples=["InitiativeSubmitted", "CoordinatorDigest"])
    template: str = Field(description="which email it is", examples=["originator_receipt"])
    recipient: str | None = Field(description="the address, masked; null once erased", examples=["k***@example.org"])
    recipient_role: str = Field(examples=["originator", "resource", "coordinator"])
    language: str = Field(description="the language it was written in", examples=["sv"])
    subject: str
    status: Status = Field(
        description="queued (waiting or being retried), sent, failed (given up: may be retried), "
        "unknown (handed to the server, which never answered: it may have arrived; never retried "
        "automatically, a coordinator may send it again), "
        "held (waiting for the coordinator's daily digest), in_digest (sent as part of a digest), "
        "cancelled (the recipient was erased first)"
    )
    attempts: int = Field(description="how often the SMTP server was tried")
    failures: int = Field(
        description="tries the server refused the message itself (a 4xx after DATA); only these count towards "
        "giving up, not the tries while the server was away"
    )
    last_error: str | None = Field(
        description="the server's last refusal, without addresses", examples=["550 5.1.1 no such user"]
    )
    next_attempt_at: datetime | None = Field(description="when the sender tries next; null unless queued")
    sent_at: datetime | None
    message_id: str = Field(
        description="the email's Message-ID header", examples=["<0b7c3f9e-5d1a-4c8e-9f2b-6a1d2e3f4a5b@meetmalmo.se>"]
    )
    erased: bool = Field(description="the address or the text is no longer kept (erasure, withdrawal)")
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


ALERT_MODE = "immediate: each alert straight away; daily_digest: the day's alerts in one email at the digest hour"
EMAIL_LANGUAGE = "the language of the coordinator's emails; Swedish when not chosen"


class PreferenceIn(BaseModel):
    """How the calling coordinator wants their alerts."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"alert_mode": "daily_digest", "language": "en"}]})

    alert_mode: AlertMode = Field(description=ALERT_MODE)
    language: Literal["sv", "en"] | None = Field(default=None, description=EMAIL_LANGUAGE)

    def to_command(self, email: str) -> SetCoordinatorPreference:
        return SetCoordinatorPreference(email, self.alert_mode, self.language)


class PreferenceOut(BaseModel):
    """The calling coordinator's choice (immediate alerts in Swedish until they chose otherwise)."""

    alert_mode: AlertMode = Field(description=ALERT_MODE, examples=["immediate"])
    language: Literal["sv", "en"] | None = Field(description=EMAIL_LANGUAGE, examples=[None])

    @classmethod
    def from_domain(cls, preference: CoordinatorPreference | None) -> PreferenceOut:
        if preference is None:
            return cls(alert_mode=AlertMode.IMMEDIATE, language=None)
        language = preference.language if preference.language in ("sv", "en") else None
        return cls(alert_mode=preference.alert_mode, language=language)  # type: ignore[arg-type]
