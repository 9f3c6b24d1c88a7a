"""Deliveries: the life of one email (queued → sent | failed | unknown), and what happens to its personal data.

A delivery is one email to one recipient about one event, rendered when it is queued. It is sent
by the sender job, never inside the transaction that queued it, under a lease (a token and a time) that
one sender holds for one attempt. Whether an email may be retried depends on how far it got: a 5xx is
permanent; while nothing was handed over (server away, a 4xx before DATA) it waits without using up
attempts; a 4xx to the message uses one up; once the message was handed over and no answer came, the
outcome is unknown and it is never retried automatically (that is what keeps it from arriving twice).

The text of an email that brings its recipient their private profile link holds PROFILE_LINK in the link's place,
and the delivery the link's version: the link (a key to read, change and erase the profile) is signed just
before the email is handed over (`outgoing`), so it is in no row of this service.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from services.notifications.domain.sending import OutgoingEmail, RetryPolicy
from shared.contracts.notifications import NotificationFailed, NotificationSent
from shared.errors import InvalidTransition

# Where the recipient's profile link goes in a stored text. Only ever filled with the link of the delivery's own
# resource, so the same words typed into a form (a title, a name) can give nobody another person's link.
PROFILE_LINK = "[[meetmalmo:profile-link]]"

SignProfileLink = Callable[[uuid.UUID, int], str]
"""The profile link of (resource id, link version), as resources verifies it (shared.contracts.links)."""


class Status(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"  # the recipient was erased before the email went out
    HELD = "held"  # a coordinator alert waiting for that coordinator's daily digest
    IN_DIGEST = "in_digest"  # a held alert taken into a digest (which is a delivery of its own)
    UNKNOWN = "unknown"  # handed to the server, whose answer never came: staff decide whether to send it again


class RecipientRole(StrEnum):
    COORDINATOR = "coordinator"
    ORIGINATOR = "originator"
    RESOURCE = "resource"


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def recipient_key(
    role: RecipientRole, recipient: str, resource_id: uuid.UUID | None, initiative_id: uuid.UUID | None
) -> str:
    """Who an email is to, as the delivery log de-duplicates it: one email per (event, template, this).

    Never empty and never the address of someone who can be erased: a resource is named by their id, an
    originator by the initiative, so the key still holds once the address is erased (a NULL recipient in a
    unique key would let a redelivered event queue the email again). Coordinators, staff, by address."""
    if role is RecipientRole.RESOURCE and resource_id is not None:
        return f"resource:{resource_id}"
    if role is RecipientRole.ORIGINATOR and initiative_id is not None:
        return f"originator:{initiative_id}"
    return f"{role.value}:{recipient.strip().lower()}"


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
    recipient_key: str  # who it is to, for the log's de-duplication (see recipient_key)
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
    list_unsubscribe: str | None = None  # non-essential emails only (RFC 8058 one-click unsubscribe)
    digest_id: uuid.UUID | None = None  # a held alert: the digest delivery that carried it
    trace_context: str | None = None  # W3C traceparent of the event that queued it: the send joins its trace
    lease_token: uuid.UUID | None = None  # the sender attempt that holds it (until next_attempt_at)
    failures: int = 0  # attempts that counted towards the policy's max_attempts (the server refused the message)
    profile_link_version: int | None = None  # the text holds PROFILE_LINK: the resource's link at this version

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
        list_unsubscribe: str | None = None,
        profile_link_version: int | None = None,
    ) -> Delivery:
        delivery_id = uuid.uuid4()
        return cls(
            id=delivery_id,
            event_id=event_id,
            event_type=event_type,
            template=template,
            recipient=recipient,
            recipient_role=role,
            recipient_key=recipient_key(role, recipient, resource_id, initiative_id),
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
            list_unsubscribe=list_unsubscribe,
            profile_link_version=profile_link_version if resource_id is not None else None,
        )

    def hold_for_digest(self) -> None:
        """A coordinator alert for someone who chose the daily digest: never sent on its own."""
        self._require(Status.QUEUED, action="hold for the digest")
        self.status = Status.HELD
        self.next_attempt_at = None

    def take_into_digest(self, digest_id: uuid.UUID, now: datetime) -> None:
        self._require(Status.HELD, action="take into a digest")
        self.status = Status.IN_DIGEST
        self.digest_id = digest_id
        self.updated_at = now

    @property
    def erased(self) -> bool:
        return self.recipient is None or self.body_text is None

    def outgoing(self, sign_profile_link: SignProfileLink) -> OutgoingEmail | None:
        """What the SMTP server is handed, the recipient's profile link signed into it now; None once the address
        or the text was erased."""
        if self.recipient is None or self.body_text is None or self.body_html is None:
            return None
        text, html = self.body_text, self.body_html
        if self.profile_link_version is not None and self.resource_id is not None:
            link = sign_profile_link(self.resource_id, self.profile_link_version)
            text, html = text.replace(PROFILE_LINK, link), html.replace(PROFILE_LINK, link)
        return OutgoingEmail(
            self.recipient,
            self.subject,
            text,
            html,
            self.message_id,
            self.language,
            self.list_unsubscribe,
            self.trace_context,
        )

    def holds_lease(self, token: uuid.UUID, now: datetime) -> bool:
        """True while the attempt `token` may still send: queued, claimed by it, its lease not run out."""
        return (
            self.status is Status.QUEUED
            and self.lease_token == token
            and self.next_attempt_at is not None
            and now < self.next_attempt_at
        )

    def record_sent(self, now: datetime) -> Outcome:
        # The server took it: that is a fact, recorded whoever holds the lease now, even over a cancellation
        # by an erasure while the server took it, or an unknown outcome recorded after the lease ran out.
        self._require(Status.QUEUED, Status.CANCELLED, Status.UNKNOWN, action="mark as sent")
        self.status = Status.SENT
        self.sent_at = now
        self.last_error = None
        self.next_attempt_at = None
        self.lease_token = None
        self._finish(now)
        return Outcome(Status.SENT)

    def record_deferred(self, error: str, now: datetime, wait: timedelta, policy: RetryPolicy) -> Outcome | None:
        """Nothing was handed over (server away, a 4xx before DATA): wait, using up no attempt; an email
        still waiting `policy.give_up_after` after it was queued fails."""
        self._require(Status.QUEUED, action="defer")
        if now - self.created_at >= policy.give_up_after:
            hours = round(policy.give_up_after.total_seconds() / 3600)
            return self.record_permanent_failure(f"gave up after waiting {hours} hours: {error}", now)
        self.last_error = error
        self.next_attempt_at = now + wait
        self.lease_token = None
        self.updated_at = now
        return None

    def record_temporary_failure(self, error: str, now: datetime, policy: RetryPolicy) -> Outcome | None:
        """The server refused the message itself for now (a 4xx after DATA, or a surprise): retry later with
        backoff, using up an attempt; after the last allowed one the delivery fails."""
        self._require(Status.QUEUED, action="retry")
        self.failures += 1
        if self.failures >= policy.max_attempts:
            return self.record_permanent_failure(f"gave up after {self.failures} attempts: {error}", now)
        self.last_error = error
        self.next_attempt_at = now + policy.delay(self.failures)
        self.lease_token = None
        self.updated_at = now
        return None

    def record_permanent_failure(self, error: str, now: datetime) -> Outcome:
        self._require(Status.QUEUED, action="mark as failed")
        self.status = Status.FAILED
        self.last_error = error
        self.next_attempt_at = None
        self.lease_token = None
        self._finish(now)
        return Outcome(Status.FAILED, error)

    def record_unknown(self, error: str, now: datetime) -> Outcome:
        """The message was handed over and no answer came (or the sender stopped mid-attempt): it may have
        arrived. It is not tried again by itself; staff may send it again (`retry`)."""
        self._require(Status.QUEUED, action="mark as unknown")
        self.status = Status.UNKNOWN
        self.last_error = error
        self.next_attempt_at = None
        self.lease_token = None
        self._finish(now)
        return Outcome(Status.UNKNOWN, error)

    def retry(self, now: datetime) -> None:
        """A coordinator queues a failed delivery, or one whose outcome is unknown (knowing it may arrive
        twice), again with a fresh budget of attempts."""
        self._require(Status.FAILED, Status.UNKNOWN, action="retry")
        if self.erased:
            raise InvalidTransition("delivery", "erased", "retry")
        self.status = Status.QUEUED
        self.attempts = 0
        self.failures = 0
        self.next_attempt_at = now
        self.lease_token = None
        self.updated_at = now

    def forget_recipient(self, now: datetime) -> None:
        """The recipient was erased: never send to them, keep neither their address nor the text."""
        if self.status in (Status.QUEUED, Status.HELD):
            self.status = Status.CANCELLED
            self.last_error = "recipient erased"
            self.next_attempt_at = None
            self.lease_token = None
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
            return
        if self.status is Status.HELD:  # an alert without its text has nothing to say in a digest
            self.status = Status.CANCELLED
            self.last_error = "content erased"
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


def notification_event(delivery: Delivery, outcome: Outcome, now: datetime) -> NotificationSent | NotificationFailed:
    """The event that tells the platform how a delivery ended (it never names the recipient)."""
    common = {
        "delivery_id": delivery.id,
        "event_id": delivery.event_id,
        "template": delivery.template,
        "recipient_role": delivery.recipient_role.value,
        "language": delivery.language,
        "status": outcome.status.value,
        "attempts": delivery.attempts,
        "error": outcome.error,
    }
    if outcome.status is Status.SENT:
        return NotificationSent(**common, message_id=delivery.message_id, sent_at=now)
    return NotificationFailed(**common, failed_at=now)


@dataclass(frozen=True)
class DeliveryFilter:
    """Which deliveries of the log staff want to see (every one by default)."""

    status: Status | None = None
    template: str | None = None
    recipient_role: RecipientRole | None = None
    created_from: datetime | None = None
    created_until: datetime | None = None


def mask_address(address: str | None) -> str | None:
    """e***@malmo.se: enough for staff to tell deliveries apart, not to read the address."""
    if address is None:
        return None
    local, _, domain = address.rpartition("@")
    return f"{local[:1]}***@{domain}" if local else "***"
