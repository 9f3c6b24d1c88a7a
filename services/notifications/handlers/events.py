"""What notifications does with the events it consumes: queue the emails they cause, keep each resource's profile
link version for footers (never the link: the sender signs it), and forget people who asked to be forgotten.

These run inside the idempotent consumer's transaction (it opens and commits the unit of work): they
only write the delivery log. The sender job sends after the commit.
"""

from __future__ import annotations

from collections.abc import Sequence

from services.notifications.adapters.rendering import Renderer
from services.notifications.db.unit_of_work import NotificationsUnitOfWork
from services.notifications.domain import (
    Delivery,
    RecipientRole,
    Status,
    address_key,
    plan_emails,
    preferred_language,
    resources_to_look_up,
)
from services.notifications.domain.erased import initiative_named, resources_named, without_erased
from shared.contracts import Envelope, Event
from shared.contracts.initiatives import InitiativeWithdrawn, OriginatorErased
from shared.contracts.links import version_in_profile_url
from shared.contracts.resources import (
    ResourceErased,
    ResourceEvent,
    ResourceProfileLinkRequested,
    ResourceRegistered,
    ResourceUpdated,
)
from shared.db import Clock
from shared.erasure import SubjectKind


async def queue_emails(
    event: Event,
    uow: NotificationsUnitOfWork,
    envelope: Envelope,
    renderer: Renderer,
    coordinators: Sequence[str],
    web_url: str,
    message_id_domain: str,
    clock: Clock,
) -> None:
    """Queue each email the event causes (see `queue_emails_together`). An event that hands a person their
    profile link also keeps it for the footer of later emails."""
    if isinstance(event, ResourceRegistered | ResourceProfileLinkRequested):
        await remember_profile_link(event, uow, envelope, clock)
    await queue_emails_together([event], uow, [envelope], renderer, coordinators, web_url, message_id_domain, clock)


async def queue_emails_together(
    events: Sequence[Event],
    uow: NotificationsUnitOfWork,
    envelopes: Sequence[Envelope],
    renderer: Renderer,
    coordinators: Sequence[str],
    web_url: str,
    message_id_domain: str,
    clock: Clock,
) -> None:
    """Queue each email the events cause, as a set: one look at the erased, the profile links and the
    preferences for all of them, and their deliveries inserted in one statement. None of the events of a run
    writes what the others read (the events that erase someone or keep a profile link are applied alone), so
    this has the effect one by one would have. A coordinator who chose the daily digest has their alert held
    for it. Coordinators' alerts link to the staff console at `web_url` (the web's public URL). The sends of a
    run's emails continue the trace of the run (its last event's), not each their own event's.

    Someone erased before the event arrived gets nothing and appears in no text: an event about them alone
    queues nothing, and in others their name, email and phone are blanked (and so are an erased originator's)."""
    named = [resources_named(event) for event in events]
    erased = await uow.erased.among(SubjectKind.RESOURCE, set().union(*named))
    erased_originators = await uow.erased.among(SubjectKind.ORIGINATOR, map(initiative_named, events))
    kept: list[tuple[Event, Envelope]] = []
    for event, envelope, resources in zip(events, envelopes, named, strict=True):
        if isinstance(event, ResourceEvent) and event.resource_id in erased:
            continue
        originator_erased = initiative_named(event) in erased_originators
        kept.append((without_erased(event, resources & erased, originator_erased), envelope))
    profile_links = await uow.profile_links.of(set().union(*(resources_to_look_up(e) for e, _ in kept)) - erased)
    planned = [
        (email, envelope)
        for event, envelope in kept
        for email in plan_emails(event, coordinators, profile_links, web_url)
        if email.recipient
    ]
    preferences = await uow.preferences.of_many(
        email.recipient for email, _ in planned if email.role is RecipientRole.COORDINATOR
    )
    now = clock()
    queued: list[Delivery] = []
    for email, envelope in planned:
        preference = preferences.get(address_key(email.recipient))
        language = preferred_language(preference, email.language.value)
        held = preference is not None and preference.wants_digest
        render = renderer.render_body if held else renderer.render
        delivery = Delivery.queue(
            event_id=envelope.event_id,
            event_type=envelope.event_type,
            template=email.template.value,
            recipient=email.recipient,
            role=email.role,
            language=language,
            rendered=render(email.template.value, language, email.context),
            message_id_domain=message_id_domain,
            now=now,
            resource_id=email.resource_id,
            initiative_id=email.initiative_id,
            mentions=email.mentions,
            profile_link_version=email.profile_link_version,
        )
        if held:
            delivery.hold_for_digest()
        queued.append(delivery)
    added = await uow.deliveries.add_many(queued)
    if any(delivery.id in added and delivery.status is not Status.HELD for delivery in queued):
        uow.deliveries_queued = True


async def remember_profile_link(
    event: ResourceRegistered | ResourceProfileLinkRequested | ResourceUpdated,
    uow: NotificationsUnitOfWork,
    envelope: Envelope,
    clock: Clock,
) -> None:
    """Keep the version of the person's newest profile link for the footer of later emails (not once they are
    erased); the sender signs the link itself. A version 1 ResourceUpdated carried the link: its version is read
    from it; a version 2 one carries none and changes nothing."""
    if isinstance(event, ResourceUpdated):
        if event.profile_url is None:
            return
        version = version_in_profile_url(event.profile_url)
    else:
        version = event.profile_link_version
    if await uow.erased.contains(SubjectKind.RESOURCE, event.resource_id):
        return
    await uow.profile_links.remember(event.resource_id, version, clock())


async def forget_resource(
    event: ResourceErased, uow: NotificationsUnitOfWork, envelope: Envelope, clock: Clock
) -> None:
    """The person asked to be erased: their address, the texts to them and the texts about them go, and
    their id is remembered so that a later event about them brings nothing back."""
    now = clock()
    await uow.erased.remember(SubjectKind.RESOURCE, event.resource_id, now)
    await uow.profile_links.forget(event.resource_id)
    to_them, about_them = await uow.deliveries.to_or_about_resource(event.resource_id)
    for delivery in to_them:
        delivery.forget_recipient(now)
        await uow.deliveries.save(delivery)
    for delivery in about_them:
        delivery.forget_content_when_done(now)
        await uow.deliveries.save(delivery)


async def forget_originator(
    event: OriginatorErased, uow: NotificationsUnitOfWork, envelope: Envelope, clock: Clock
) -> None:
    """The initiative's contact person was erased: emails to them not yet sent are cancelled and lose their
    address and text, the texts to others that show them go once sent, and the subject is remembered: a later
    event about the initiative sends them nothing and shows them nowhere (see queue_emails)."""
    now = clock()
    await uow.erased.remember(SubjectKind.ORIGINATOR, event.initiative_id, now)
    for delivery in await uow.deliveries.about_initiative(event.initiative_id):
        if delivery.recipient_role is RecipientRole.ORIGINATOR:
            delivery.forget_recipient(now)
        else:
            delivery.forget_content_when_done(now)
        await uow.deliveries.save(delivery)


async def forget_withdrawn_initiative(
    event: InitiativeWithdrawn, uow: NotificationsUnitOfWork, envelope: Envelope, clock: Clock
) -> None:
    """The originator's address and every text about the initiative go once nothing is left to send."""
    now = clock()
    for delivery in await uow.deliveries.about_initiative(event.initiative_id):
        if delivery.recipient_role is RecipientRole.ORIGINATOR:
            delivery.forget_recipient_when_done(now)
        else:
            delivery.forget_content_when_done(now)
        await uow.deliveries.save(delivery)
