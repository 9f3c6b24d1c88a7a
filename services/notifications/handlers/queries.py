"""What staff and coordinators read: the delivery log (masked by the API), a coordinator's preference,
and what an unsubscribe link names."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from services.notifications.db.unit_of_work import NotificationsUnitOfWork
from services.notifications.domain import CoordinatorPreference, Delivery, DeliveryFilter
from services.notifications.links import UnsubscribeLinks
from shared.errors import NotFound
from shared.links import check_version


@dataclass(frozen=True)
class FindDeliveries:
    """A page of the delivery log, newest first."""

    filters: DeliveryFilter
    limit: int
    offset: int


@dataclass(frozen=True)
class GetDelivery:
    delivery_id: uuid.UUID


@dataclass(frozen=True)
class GetPreference:
    """A coordinator's stored preference (none until they chose one)."""

    email: str


@dataclass(frozen=True)
class GetUnsubscribeTarget:
    """The preference an unsubscribe link names, for the page a GET shows (which changes nothing)."""

    token: str


async def find_deliveries(query: FindDeliveries, uow: NotificationsUnitOfWork) -> tuple[list[Delivery], int]:
    async with uow:
        return await uow.deliveries.page(query.filters, query.limit, query.offset)


async def get_delivery(query: GetDelivery, uow: NotificationsUnitOfWork) -> Delivery:
    async with uow:
        delivery = await uow.deliveries.get(query.delivery_id)
    if delivery is None:
        raise NotFound("delivery", query.delivery_id)
    return delivery


async def get_preference(query: GetPreference, uow: NotificationsUnitOfWork) -> CoordinatorPreference | None:
    async with uow:
        return await uow.preferences.of(query.email)


async def get_unsubscribe_target(
    query: GetUnsubscribeTarget, uow: NotificationsUnitOfWork, links: UnsubscribeLinks
) -> CoordinatorPreference:
    """Raises InvalidLink or NotFound, ReplacedLink for a link the digest was chosen again since."""
    preference_id, version = links.read_versioned(query.token)
    async with uow:
        preference = await uow.preferences.by_id(preference_id)
    if preference is None:
        raise NotFound("preference", preference_id)
    check_version(version, preference.link_version)
    return preference
