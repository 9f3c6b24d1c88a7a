"""What matching consumes: accepted (and withdrawn, closed) initiatives and the resource pool."""

from __future__ import annotations

from collections.abc import Callable

from services.matching.db import MatchingUnitOfWork, processed_events
from services.matching.handlers import MatchingHandlers
from shared.contracts import Topic
from shared.contracts.initiatives import InitiativeAccepted, InitiativeClosed, InitiativeWithdrawn
from shared.contracts.resources import ResourceErased, ResourceRegistered, ResourceUpdated, ResourceWithdrawn
from shared.service import Infrastructure


def subscribe(
    infra: Infrastructure,
    uow_factory: Callable[[], MatchingUnitOfWork],
    handlers: MatchingHandlers,
    group: str = "matching",
) -> None:
    infra.consume(
        group,
        [Topic.INITIATIVES, Topic.RESOURCES],
        uow_factory,
        processed_events,
        {
            InitiativeAccepted: handlers.on_initiative_accepted,
            InitiativeWithdrawn: handlers.on_initiative_withdrawn,
            InitiativeClosed: handlers.on_initiative_closed,
            ResourceRegistered: handlers.on_resource_registered,
            ResourceUpdated: handlers.on_resource_updated,
            ResourceWithdrawn: handlers.on_resource_withdrawn,
            ResourceErased: handlers.on_resource_erased,
        },
    )
