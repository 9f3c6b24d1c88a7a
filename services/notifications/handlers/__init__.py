"""Notifications's use cases, one function each, registered for the message bus.

commands.py: what staff and coordinators ask for; queries.py: what they read; jobs.py: the sender
and the daily digest, run as periodic jobs; events.py: what the consumer applies (see consumers.py).
"""

from __future__ import annotations

from typing import Any

from services.notifications.handlers import commands, jobs, queries
from services.notifications.handlers.commands import RetryDelivery, SetCoordinatorPreference, Unsubscribe
from services.notifications.handlers.jobs import PurgeDeliveryBodies, QueueDigests, QueueDueDigests, SendDueEmails
from services.notifications.handlers.queries import FindDeliveries, GetDelivery, GetPreference, GetUnsubscribeTarget
from shared.messagebus import Handler

HANDLERS: dict[type[Any], Handler] = {
    RetryDelivery: commands.retry_delivery,
    SetCoordinatorPreference: commands.set_coordinator_preference,
    Unsubscribe: commands.unsubscribe,
    FindDeliveries: queries.find_deliveries,
    GetDelivery: queries.get_delivery,
    GetPreference: queries.get_preference,
    GetUnsubscribeTarget: queries.get_unsubscribe_target,
    SendDueEmails: jobs.send_due_emails,
    PurgeDeliveryBodies: jobs.purge_delivery_bodies,
    QueueDigests: jobs.queue_digests,
    QueueDueDigests: jobs.queue_due_digests,
}

__all__ = [
    "HANDLERS",
    "FindDeliveries",
    "GetDelivery",
    "GetPreference",
    "GetUnsubscribeTarget",
    "PurgeDeliveryBodies",
    "QueueDigests",
    "QueueDueDigests",
    "RetryDelivery",
    "SendDueEmails",
    "SetCoordinatorPreference",
    "Unsubscribe",
]
