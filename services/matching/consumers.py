"""What matching consumes: accepted (and withdrawn, closed) initiatives, erased originators and the resource pool."""

from __future__ import annotations

from collections.abc import Mapping

from services.matching.db import MatchingUnitOfWork
from services.matching.handlers import events
from shared.contracts import Event, Topic
from shared.contracts.initiatives import InitiativeAccepted, InitiativeClosed, InitiativeWithdrawn, OriginatorErased
from shared.contracts.resources import ResourceErased, ResourceRegistered, ResourceUpdated, ResourceWithdrawn
from shared.inbox import IdempotentConsumer
from shared.messagebus import Handler, MessageBus
from shared.service import Infrastructure, Subscriptions

SUBSCRIPTIONS: Subscriptions = {
    Topic.INITIATIVES: {
        InitiativeAccepted: events.on_initiative_accepted,
        InitiativeWithdrawn: events.on_initiative_withdrawn,
        InitiativeClosed: events.on_initiative_closed,
        OriginatorErased: events.on_originator_erased,
    },
    Topic.RESOURCES: {
        ResourceRegistered: events.on_resource_registered,
        ResourceUpdated: events.on_resource_updated,
        ResourceWithdrawn: events.on_resource_withdrawn,
        ResourceErased: events.on_resource_erased,
    },
}


# Consecutive pool events (a replay of the topic: thousands a second) or acceptances in one consumed batch are
# applied as one set.
RUNS: Mapping[type[Event], Handler] = {
    InitiativeAccepted: events.on_acceptances,
    ResourceRegistered: events.on_pool_events,
    ResourceUpdated: events.on_pool_events,
    ResourceWithdrawn: events.on_pool_events,
}


def subscribe(
    infra: Infrastructure, bus: MessageBus[MatchingUnitOfWork], group: str
) -> IdempotentConsumer[MatchingUnitOfWork]:
    """`group` is settings.consumer_group: a new name with an empty database rebuilds the projections."""
    return infra.consume(group, SUBSCRIPTIONS, bus, RUNS)
