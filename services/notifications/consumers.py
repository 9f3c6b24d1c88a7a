"""The one consumer group: initiatives, resources and groups events in, delivery log rows out."""

from __future__ import annotations

from collections.abc import Mapping

from services.notifications.db.unit_of_work import NotificationsUnitOfWork
from services.notifications.handlers import events
from shared.contracts import Event, Topic
from shared.contracts.groups import GroupFormationBlocked, GroupFormed, GroupProposed, MemberInvited, MemberReplaced
from shared.contracts.initiatives import (
    InitiativeAccepted,
    InitiativeInfoRequested,
    InitiativeRejected,
    InitiativeStatusLinkRequested,
    InitiativeSubmitted,
    InitiativeUpdated,
    InitiativeWithdrawn,
    OriginatorErased,
)
from shared.contracts.resources import (
    ResourceConfirmationRequested,
    ResourceErased,
    ResourceProfileLinkRequested,
    ResourceRegistered,
    ResourceUpdated,
)
from shared.inbox import IdempotentConsumer
from shared.messagebus import Handler, MessageBus
from shared.service import Infrastructure, Subscriptions

CONSUMER = "notifications"

SUBSCRIPTIONS: Subscriptions = {
    Topic.INITIATIVES: {
        InitiativeSubmitted: events.queue_emails,
        InitiativeUpdated: events.queue_emails,
        InitiativeAccepted: events.queue_emails,
        InitiativeRejected: events.queue_emails,
        InitiativeInfoRequested: events.queue_emails,
        InitiativeStatusLinkRequested: events.queue_emails,
        InitiativeWithdrawn: events.forget_withdrawn_initiative,
        OriginatorErased: events.forget_originator,
    },
    Topic.RESOURCES: {
        ResourceConfirmationRequested: events.queue_emails,
        ResourceRegistered: events.queue_emails,
        ResourceProfileLinkRequested: events.queue_emails,
        ResourceUpdated: events.remember_profile_link,
        ResourceErased: events.forget_resource,
    },
    Topic.GROUPS: {
        GroupProposed: events.queue_emails,
        MemberReplaced: events.queue_emails,
        MemberInvited: events.queue_emails,
        GroupFormed: events.queue_emails,
        GroupFormationBlocked: events.queue_emails,
    },
}


# Consecutive events of these types in one consumed batch (a burst of submissions: hundreds a second) queue
# their emails as one set. Not in a run: the events that keep a profile link or erase someone (what the others read).
RUNS: Mapping[type[Event], Handler] = {
    event_type: events.queue_emails_together
    for by_type in SUBSCRIPTIONS.values()
    for event_type, handler in by_type.items()
    if handler is events.queue_emails and event_type not in (ResourceRegistered, ResourceProfileLinkRequested)
}


def subscribe(
    infra: Infrastructure, bus: MessageBus[NotificationsUnitOfWork]
) -> IdempotentConsumer[NotificationsUnitOfWork]:
    return infra.consume(CONSUMER, SUBSCRIPTIONS, bus, RUNS)
