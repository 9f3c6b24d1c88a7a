"""Events of the notifications family (produced by notifications), keyed by delivery_id.

They tell dashboards what happened to each email. They never carry the recipient's address: a
delivery is named by its id, the template and the event that caused it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from shared.contracts.envelope import Event
from shared.contracts.topics import Topic


class NotificationEvent(Event):
    abstract: ClassVar[bool] = True
    topic: ClassVar[Topic] = Topic.NOTIFICATIONS
    key_field: ClassVar[str] = "delivery_id"

    delivery_id: uuid.UUID
    event_id: uuid.UUID  # the event the email was about
    template: str  # e.g. originator_receipt, member_invitation
    recipient_role: str  # coordinator | originator | resource
    language: str
    status: str  # sent | failed
    attempts: int
    error: str | None = None


class NotificationSent(NotificationEvent):
    """The SMTP server accepted the email."""

    message_id: str
    sent_at: datetime


class NotificationFailed(NotificationEvent):
    """The email could not be delivered: the server refused it for good (5xx), or retries ran out."""

    failed_at: datetime
