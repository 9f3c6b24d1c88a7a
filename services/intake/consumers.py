"""What intake consumes: matching's group events (the duplicate hint is found at review time, see queries)."""

from __future__ import annotations

from typing import Any

from services.intake.db import IntakeUnitOfWork
from services.intake.handlers import events
from shared.contracts import Topic
from shared.contracts.groups import GroupFormed, GroupProposed
from shared.inbox import IdempotentConsumer
from shared.messagebus import MessageBus
from shared.service import Infrastructure, Subscriptions

SUBSCRIPTIONS: Subscriptions = {
    Topic.GROUPS: {GroupProposed: events.on_group_proposed, GroupFormed: events.on_group_formed},
}


def subscribe(infra: Infrastructure, bus: MessageBus[IntakeUnitOfWork]) -> IdempotentConsumer[Any]:
    return infra.consume("intake", SUBSCRIPTIONS, bus)
