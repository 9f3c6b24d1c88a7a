"""Deliveries: the life of one email (queued → sent | failed), and what happens to its personal data.

A delivery is one email to one recipient about one event, rendered when it is queued. It is sent
by the sender loop, never inside the transaction that queued it. Whether an email may be retried
depends on how the server refused it: a 5xx is permanent, anything else (server away, 4xx) passes.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from shared.errors import DomainError, InvalidTransition


class Status(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"  # the recipient was erased before the email went out


class RecipientRole(StrEnum):
    COORDINATOR = "coordinator"
    ORIGINATOR = "originator"
    RESOURCE = "resource"


class Template(StrEnum):
    COORDINATOR_INITIATIVE_SUBMITTED = "coordinator_initiative_submitted"
    COORDINATOR_INITIATIVE_UPDATED = "coordinator_initiative_updated"
    COORDINATOR_GROUP_PROPOSED = "coordinator_group_proposed"
    COORDINATOR_MEMBER_REPLACED = "coordinator_member_replaced"
    COORDINATOR_GROUP_FORMED = "coordinator_group_formed"
    ORIGINATOR_RECEIPT = "originator_receipt"
    ORIGINATOR_ACCEPTED = "originator_accepted"
    ORIGINATOR_REJECTED = "originator_rejected"
    ORIGINATOR_INFO_REQUESTED = "originator_info_requested"
    RESOURCE_CONFIRMATION = "resource_confirmation"
    RESOURCE_WELCOME = "resource_welcome"
    RESOURCE_PROFILE_LINK = "resource_profile_link"  # registered again with a known address
    MEMBER_INVITATION = "member_invitation"
    GROUP_FORMED = "group_formed"  # to every member and the originator's contact


class SendFailure(Exception):
    """The SMTP server did not take the email. The message never contains the recipient's address."""


class TemporaryFailure(SendFailure):
    """Worth another try later: a 4xx reply."""


class ServerUnavailable(TemporaryFailure):
    """The server cannot be used at all right now (unreachable, timed out, refused our login)."""


class PermanentFailure(SendFailure):
    """The server refused this email for good: a 5xx reply."""


class InvalidLink(DomainError):
    """An event carried a link an email cannot use (relative, or not http/https)."""


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 30
    base_seconds: float = 2.0
    max_seconds: float = 600.0

    def delay(self, attempts: int) -> timedelta:
        """Exponential backoff after the `attempts`-th failed try, capped."""
        return timedelta(seconds=min(self.max_seconds, self.base_seconds * 2 ** max(0, attempts - 1)))


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class Outcome:
    """What a recorded attempt means to the outside world (becomes NotificationSent/Failed)."""

    status: Status
    error: str | None = None


@dataclass
class Delivery:
    id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    template: str
    recipient: str | None
    recipient_role: RecipientRole
    language: str
    resource_id: uuid.UUID | None
    initiative_id: uuid.UUID | None
    subject: str
    body_text: str | None
    body_html: str | None
    message_id: str
    created_at: datetime
    updated_at: datetime
    status: Status = Status.QUEUED
    attempts: int = 0
    last_error: str | None = None
    next_attempt_at: datetime | None = None
    sent_at: datetime | None = None
    erase_content_when_done: bool = False
    erase_recipient_when_done: bool = False
    mentions: frozenset[uuid.UUID] = field(default_factory=frozenset)

    @classmethod
    def queue(
        cls,
        *,
        event_id: uuid.UUID,
        event_type: str,
        template: str,
        recipient: str,
        role: RecipientRole,
        language: str,
        rendered: Rendered,
        message_id_domain: str,
        now: datetime,
        resource_id: uuid.UUID | None = None,
        initiative_id: uuid.UUID | None = None,
        mentions: frozenset[uuid.UUID] = frozenset(),
    ) -> Delivery:
        delivery_id = uuid.uuid4()
        return cls(
            id=delivery_id,
            event_id=event_id,
            event_type=event_type,
            template=template,
            recipient=recipient,
            recipient_role=role,
            language=language,
            resource_id=resource_id,
            initiative_id=initiative_id,
            subject=rendered.subject,
            body_text=rendered.text,
            body_html=rendered.html,
            # Stable across attempts: a resend after a crash between sending and marking shows as a duplicate.
            message_id=f"<{delivery_id}@{message_id_domain}>",
            created_at=now,
            updated_at=now,
            next_attempt_at=now,
            mentions=mentions,
        )

    @property
    def erased(self) -> bool:
        return self.recipient is None or self.body_text is None

    def record_sent(self, now: datetime) -> Outcome:
        # A delivery cancelled by an erasure while the server took it was sent all the same.
        self._require(Status.QUEUED, Status.CANCELLED, action="mark as sent")
        self.status = Status.SENT
        self.sent_at = now
        self.last_error = None
        self.next_attempt_at = None
        self._finish(now)
        return Outcome(Status.SENT)

    def record_temporary_failure(self, error: str, now: datetime, policy: RetryPolicy) -> Outcome | None:
        """Retry later with backoff; after the last allowed attempt the delivery fails."""
        self._require(Status.QUEUED, action="retry")
        if self.attempts >= policy.max_attempts:
            return self.record_permanent_failure(f"gave up after {self.attempts} attempts: {error}", now)
        self.last_error = error
        self.next_attempt_at = now + policy.delay(self.attempts)
        self.updated_at = now
        return None

    def record_permanent_failure(self, error: str, now: datetime) -> Outcome:
        self._require(Status.QUEUED, action="mark as failed")
        self.status = Status.FAILED
        self.last_error = error
        self.next_attempt_at = None
        self._finish(now)
        return Outcome(Status.FAILED, error)

    def retry(self, now: datetime) -> None:
        """A coordinator or operator queues a failed delivery again, with a fresh budget of attempts."""
        self._require(Status.FAILED, action="retry")
        if self.erased:
            raise InvalidTransition("delivery", "erased", "retry")
        self.status = Status.QUEUED
        self.attempts = 0
        self.next_attempt_at = now
        self.updated_at = now

    def forget_recipient(self, now: datetime) -> None:
        """The recipient was erased: never send to them, keep neither their address nor the text."""
        if self.status is Status.QUEUED:
            self.status = Status.CANCELLED
            self.last_error = "recipient erased"
            self.next_attempt_at = None
        self.recipient = None
        self._erase_content(now)

    def forget_recipient_when_done(self, now: datetime) -> None:
        """Drop address and text once the email has gone out (or failed); at once if it has."""
        if self.status is Status.QUEUED:
            self.erase_recipient_when_done = self.erase_content_when_done = True
            self.updated_at = now
        else:
            self.recipient = None
            self._erase_content(now)

    def forget_content_when_done(self, now: datetime) -> None:
        """Drop the text (which shows someone else's personal data) once it is no longer needed to send."""
        if self.status is Status.QUEUED:
            self.erase_content_when_done = True
            self.updated_at = now
        else:
            self._erase_content(now)

    def _finish(self, now: datetime) -> None:
        self.updated_at = now
        if self.erase_recipient_when_done:
            self.recipient = None
        if self.erase_content_when_done:
            self._erase_content(now)

    def _erase_content(self, now: datetime) -> None:
        self.body_text = self.body_html = None
        self.erase_content_when_done = self.erase_recipient_when_done = False
        self.updated_at = now

    def _require(self, *allowed: Status, action: str) -> None:
        if self.status not in allowed:
            raise InvalidTransition("delivery", self.status.value, action)


def mask_address(address: str | None) -> str | None:
    """e***@malmo.se: enough for staff to tell deliveries apart, not to read the address."""
    if address is None:
        return None
    local, _, domain = address.rpartition("@")
    return f"{local[:1]}***@{domain}" if local else "***"
