"""The one consumer group: initiatives, resources and groups events in, delivery log rows out."""

from __future__ import annotations

from collections.abc import Callable

from services.notifications.db import NotificationsUnitOfWork, processed_events
from services.notifications.handlers import EmailQueue, event_handlers
from shared.contracts import Topic
from shared.inbox import IdempotentConsumer
from shared.service import Infrastructure

CONSUMER = "notifications"


def subscribe(
    infra: Infrastructure, uow_factory: Callable[[], NotificationsUnitOfWork], queue: EmailQueue
) -> IdempotentConsumer[NotificationsUnitOfWork]:
    return infra.consume(
        CONSUMER,
        [Topic.INITIATIVES, Topic.RESOURCES, Topic.GROUPS],
        uow_factory,
        processed_events,
        event_handlers(queue),
    )
