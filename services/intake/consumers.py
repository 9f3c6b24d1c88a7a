"""What intake consumes: matching's group events move the initiative's status on."""

from __future__ import annotations

from collections.abc import Callable

from services.intake.db import IntakeUnitOfWork, processed_events
from services.intake.handlers import IntakeHandlers
from shared.contracts import Topic
from shared.contracts.groups import GroupFormed, GroupProposed
from shared.service import Infrastructure


def subscribe(infra: Infrastructure, uow_factory: Callable[[], IntakeUnitOfWork], handlers: IntakeHandlers) -> None:
    infra.consume(
        "intake",
        [Topic.GROUPS],
        uow_factory,
        processed_events,
        {GroupProposed: handlers.on_group_proposed, GroupFormed: handlers.on_group_formed},
    )
