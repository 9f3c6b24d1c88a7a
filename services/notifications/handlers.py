"""Use cases: queue the emails an event causes, forget people who asked to be forgotten, staff retries.

Event handlers run inside the idempotent consumer's transaction: they only write the delivery log.
The sender sends after the commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from services.notifications.db import DeliveryFilter, NotificationsUnitOfWork
from services.notifications.domain import AlertMode, Delivery, RecipientRole
from services.notifications.emails import plan_emails, resources_to_look_up
from services.notifications.rendering import Renderer
from shared.contracts import Envelope, Event
from shared.contracts.groups import GroupFormed, GroupProposed, MemberInvited, MemberReplaced
from shared.contracts.initiatives import (
    InitiativeAccepted,
    InitiativeInfoRequested,
    InitiativeRejected,
    InitiativeSubmitted,
    InitiativeUpdated,
    InitiativeWithdrawn,
)
from shared.contracts.resources import (
    ResourceConfirmationRequested,
    ResourceErased,
    ResourceProfileLinkRequested,
    ResourceRegistered,
    ResourceUpdated,
)
from shared.db import utcnow
from shared.errors import NotFound
from shared.inbox import EventHandler

EMAIL_EVENTS: tuple[type[Event], ...] = (
    InitiativeSubmitted,
    InitiativeUpdated,
    InitiativeAccepted,
    InitiativeRejected,
    InitiativeInfoRequested,
    ResourceConfirmationRequested,
    GroupProposed,
    MemberReplaced,
    MemberInvited,
    GroupFormed,
)


@dataclass(frozen=True)
class EmailQueue:
    """Renders the emails an event causes and writes them to the delivery log."""

    renderer: Renderer
    coordinators: Sequence[str]
    message_id_domain: str

    async def queue_emails(self, uow: NotificationsUnitOfWork, event: Event, envelope: Envelope) -> None:
        """Queue each email; a coordinator who chose the daily digest has their alert held for it."""
        profile_links = await uow.profile_links.of(resources_to_look_up(event))
        planned = plan_emails(event, self.coordinators, profile_links)
        preferences = await uow.preferences.of_many(e.recipient for e in planned if e.role is RecipientRole.COORDINATOR)
        now = utcnow()
        for email in planned:
            preference = preferences.get(email.recipient.strip().lower())
            language = (preference.language if preference else None) or email.language.value
            held = preference is not None and preference.alert_mode is AlertMode.DAILY_DIGEST
            render = self.renderer.render_body if held else self.renderer.render
            delivery = Delivery.queue(
                event_id=envelope.event_id,
                event_type=envelope.event_type,
                template=email.template.value,
                recipient=email.recipient,
                role=email.role,
                language=language,
                rendered=render(email.template.value, language, email.context),
                message_id_domain=self.message_id_domain,
                now=now,
                resource_id=email.resource_id,
                initiative_id=email.initiative_id,
                mentions=email.mentions,
            )
            if held:
                delivery.hold_for_digest()
            if await uow.deliveries.add(delivery) and not held:
                uow.deliveries_queued = True

    async def with_profile_link(
        self, uow: NotificationsUnitOfWork, event: ResourceRegistered | ResourceProfileLinkRequested, envelope: Envelope
    ) -> None:
        """Keep the person's newest profile link for the footer of later emails, then write to them."""
        await uow.profile_links.remember(event.resource_id, event.profile_url, utcnow())
        await self.queue_emails(uow, event, envelope)


async def remember_profile_link(uow: NotificationsUnitOfWork, event: ResourceUpdated, _: Envelope) -> None:
    await uow.profile_links.remember(event.resource_id, event.profile_url, utcnow())


async def forget_resource(uow: NotificationsUnitOfWork, event: ResourceErased, _: Envelope) -> None:
    """The person asked to be erased: their address, the texts to them and the texts about them go."""
    now = utcnow()
    await uow.profile_links.forget(event.resource_id)
    to_them, about_them = await uow.deliveries.to_or_about_resource(event.resource_id)
    for delivery in to_them:
        delivery.forget_recipient(now)
        await uow.deliveries.save(delivery)
    for delivery in about_them:
        delivery.forget_content_when_done(now)
        await uow.deliveries.save(delivery)


async def forget_withdrawn_initiative(uow: NotificationsUnitOfWork, event: InitiativeWithdrawn, _: Envelope) -> None:
    """The originator's address and every text about the initiative go once nothing is left to send."""
    now = utcnow()
    for delivery in await uow.deliveries.about_initiative(event.initiative_id):
        if delivery.recipient_role is RecipientRole.ORIGINATOR:
            delivery.forget_recipient_when_done(now)
        else:
            delivery.forget_content_when_done(now)
        await uow.deliveries.save(delivery)


def event_handlers(queue: EmailQueue) -> dict[type[Event], EventHandler[NotificationsUnitOfWork]]:
    handlers: dict[type[Event], EventHandler[NotificationsUnitOfWork]] = dict.fromkeys(EMAIL_EVENTS, queue.queue_emails)
    handlers[ResourceRegistered] = queue.with_profile_link
    handlers[ResourceProfileLinkRequested] = queue.with_profile_link
    handlers[ResourceUpdated] = remember_profile_link
    handlers[ResourceErased] = forget_resource
    handlers[InitiativeWithdrawn] = forget_withdrawn_initiative
    return handlers


async def retry_delivery(uow: NotificationsUnitOfWork, delivery_id: uuid.UUID) -> Delivery:
    async with uow:
        delivery = await uow.deliveries.get(delivery_id, for_update=True)
        if delivery is None:
            raise NotFound("delivery", delivery_id)
        delivery.retry(utcnow())
        await uow.deliveries.save(delivery)
        uow.deliveries_queued = True
        await uow.commit()
    return delivery


async def find_delivery(uow: NotificationsUnitOfWork, delivery_id: uuid.UUID) -> Delivery:
    async with uow:
        delivery = await uow.deliveries.get(delivery_id)
    if delivery is None:
        raise NotFound("delivery", delivery_id)
    return delivery


async def list_deliveries(
    uow: NotificationsUnitOfWork, where: DeliveryFilter, limit: int, offset: int
) -> tuple[list[Delivery], int]:
    async with uow:
        return await uow.deliveries.page(where, limit, offset)
