"""What staff and coordinators ask for: queue a failed delivery again, choose immediate alerts or a
daily digest, and (through the digest's link) unsubscribe from the digest."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from services.notifications.db.unit_of_work import NotificationsUnitOfWork
from services.notifications.domain import AlertMode, CoordinatorPreference, Delivery
from services.notifications.links import UnsubscribeLinks
from shared.db import Clock
from shared.errors import NotFound
from shared.links import check_version


@dataclass(frozen=True)
class RetryDelivery:
    delivery_id: uuid.UUID


@dataclass(frozen=True)
class SetCoordinatorPreference:
    email: str
    alert_mode: AlertMode
    language: str | None  # of coordinator emails; Swedish when not chosen


@dataclass(frozen=True)
class Unsubscribe:
    """The digest's link (its page's button, or a mail client's one-click POST)."""

    token: str


async def retry_delivery(command: RetryDelivery, uow: NotificationsUnitOfWork, clock: Clock) -> Delivery:
    async with uow:
        delivery = await uow.deliveries.get(command.delivery_id, for_update=True)
        if delivery is None:
            raise NotFound("delivery", command.delivery_id)
        delivery.retry(clock())
        await uow.deliveries.save(delivery)
        uow.deliveries_queued = True
        await uow.commit()
    return delivery


async def set_coordinator_preference(
    command: SetCoordinatorPreference, uow: NotificationsUnitOfWork, clock: Clock
) -> CoordinatorPreference:
    async with uow:
        preference = await uow.preferences.set(command.email, command.alert_mode, command.language, clock())
        await uow.commit()
    return preference


async def unsubscribe(
    command: Unsubscribe, uow: NotificationsUnitOfWork, links: UnsubscribeLinks, clock: Clock
) -> None:
    """The coordinator gets each alert straight away again. Raises InvalidLink or NotFound, ReplacedLink for a
    link the digest was chosen again since."""
    preference_id, version = links.read_versioned(command.token)
    async with uow:
        preference = await uow.preferences.by_id(preference_id)
        if preference is None:
            raise NotFound("preference", preference_id)
        check_version(version, preference.link_version)
        if not await uow.preferences.switch_to_immediate(preference_id, clock()):
            raise NotFound("preference", preference_id)
        await uow.commit()
