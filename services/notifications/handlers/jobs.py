"""Periodic work, run by the composition root as PeriodicJobs: the sender and the daily digest.

The sender takes due deliveries from the log, hands each to the SMTP server and records the outcome.
It runs beside the consumer, never inside its transaction; a commit that queued deliveries wakes
it, and it also polls. Each delivery is claimed with a lease, sent, then marked sent (or retried
later, or failed) in one transaction with its NotificationSent/NotificationFailed event. If the
process dies between sending and marking, the lease runs out and the email goes again with the
same Message-ID, so the duplicate is recognisable. While the server is away it probes with one
delivery a round, waiting longer each time.

The digest job wakes at the digest hour (at least hourly) and queues the day's digests, each a
delivery the sender then sends like any other.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import structlog

from services.notifications.adapters.rendering import Renderer
from services.notifications.db.unit_of_work import NotificationsUnitOfWork
from services.notifications.domain import (
    COORDINATOR_LANGUAGE,
    DIGEST_EVENT_TYPE,
    MALMO_TIME,
    CoordinatorPreference,
    Delivery,
    Mailer,
    Outage,
    Outcome,
    PermanentFailure,
    RecipientRole,
    RetryPolicy,
    ServerUnavailable,
    Template,
    TemporaryFailure,
    address_key,
    digest_context,
    digest_day,
    digest_key,
    held_by_recipient,
    mentioned_in,
    notification_event,
    preferred_language,
    seconds_until_next_digest,
)
from services.notifications.links import UnsubscribeLinks
from shared.db import Clock
from shared.errors import InvalidTransition
from shared.jobs import AT_ONCE, Pause

log = structlog.get_logger(__name__)
Change = Callable[[Delivery, datetime], Outcome | None]


@dataclass(frozen=True)
class SendDueEmails:
    """One round of the sender: returns when to run the next (see shared.jobs.PeriodicJob)."""

    batch_size: int = 50
    lease: timedelta = timedelta(minutes=2)


@dataclass(frozen=True)
class QueueDigests:
    """Queue the digests due at `at` (none before the digest hour); the handler says how many."""

    at: datetime


@dataclass(frozen=True)
class QueueDueDigests:
    """One round of the digest job: queue what is due now; returns the seconds until the next round."""


async def send_due_emails(
    command: SendDueEmails,
    uow: NotificationsUnitOfWork,
    mailer: Mailer,
    policy: RetryPolicy,
    outage: Outage,
    clock: Clock,
) -> Pause | None:
    """Try one batch of due deliveries: None (wait for a wake or the poll) when it was not full, at
    once again when it was, a pause until the next probe when the server is away."""
    async with uow:
        due = await uow.deliveries.due(clock(), command.batch_size)
    for delivery_id in due:
        if not await _attempt(delivery_id, uow, mailer, policy, clock, command.lease):
            pause = outage.continues(policy)
            log.warning("sender.smtp_unavailable", retry_in=pause)
            return Pause(pause)
    outage.ended()
    return AT_ONCE if len(due) >= command.batch_size else None


async def _attempt(
    delivery_id: uuid.UUID,
    uow: NotificationsUnitOfWork,
    mailer: Mailer,
    policy: RetryPolicy,
    clock: Clock,
    lease: timedelta,
) -> bool:
    """Claim, send and record one delivery; false when the server could not be used at all."""
    now = clock()
    async with uow:
        if not await uow.deliveries.claim(delivery_id, now, now + lease):
            return True  # another sender took it, or it is no longer due
        delivery = await uow.deliveries.get(delivery_id)
        await uow.commit()
    assert delivery is not None
    email = delivery.outgoing()
    if email is None:
        return await _record(delivery_id, uow, clock, lambda d, at: d.record_permanent_failure("content erased", at))
    try:
        await mailer.send(email)
    except PermanentFailure as exc:
        error = str(exc)
        return await _record(delivery_id, uow, clock, lambda d, at: d.record_permanent_failure(error, at))
    except TemporaryFailure as exc:
        error = str(exc)
        await _record(delivery_id, uow, clock, lambda d, at: d.record_temporary_failure(error, at, policy))
        return not isinstance(exc, ServerUnavailable)
    except Exception as exc:  # a surprise: retried with backoff like a 4xx, so it cannot spin or be lost
        error = f"unexpected {type(exc).__name__}"  # no traceback: it could quote the recipient
        log.error("delivery.unexpected_error", delivery_id=str(delivery_id), error_type=type(exc).__name__)
        return await _record(delivery_id, uow, clock, lambda d, at: d.record_temporary_failure(error, at, policy))
    return await _record(delivery_id, uow, clock, lambda d, at: d.record_sent(at))


async def _record(delivery_id: uuid.UUID, uow: NotificationsUnitOfWork, clock: Clock, change: Change) -> bool:
    now = clock()
    async with uow:
        delivery = await uow.deliveries.get(delivery_id, for_update=True)  # an erasure may be writing it
        assert delivery is not None
        try:
            outcome = change(delivery, now)
        except InvalidTransition as exc:  # changed meanwhile (e.g. retried by staff): theirs stands
            log.warning("delivery.outcome_not_recorded", delivery_id=str(delivery_id), reason=str(exc))
            return True
        await uow.deliveries.save(delivery)
        if outcome is not None:
            await uow.emit(notification_event(delivery, outcome, now))
        await uow.commit()
    log.info(
        "delivery.attempted",
        delivery_id=str(delivery.id),
        template=delivery.template,
        status=delivery.status.value,
        attempts=delivery.attempts,
        error=delivery.last_error,
    )
    return True


async def queue_digests(
    command: QueueDigests,
    uow: NotificationsUnitOfWork,
    renderer: Renderer,
    links: UnsubscribeLinks,
    message_id_domain: str,
    digest_hour: int,
) -> int:
    """One digest per coordinator with held alerts, unless the day's is queued already; how many were queued."""
    day = digest_day(command.at, digest_hour, MALMO_TIME)
    if day is None:
        return 0
    queued = 0
    async with uow:
        by_recipient = held_by_recipient(await uow.deliveries.held())
        preferences = await uow.preferences.of_many(by_recipient)
        for recipient, items in by_recipient.items():
            if await uow.deliveries.exists(digest_key(recipient, day), recipient, Template.COORDINATOR_DIGEST.value):
                continue  # the day's digest is queued already; these wait for the next one
            preference = preferences.get(address_key(recipient))
            digest = _digest(recipient, items, preference, day, command.at, renderer, links, message_id_domain)
            if not await uow.deliveries.add(digest):
                continue
            for item in items:
                item.take_into_digest(digest.id, command.at)
                await uow.deliveries.save(item)
            queued += 1
        uow.deliveries_queued = queued > 0
        await uow.commit()
    if queued:
        log.info("digests.queued", count=queued, day=day.isoformat())
    return queued


def _digest(
    recipient: str,
    items: list[Delivery],
    preference: CoordinatorPreference | None,
    day: date,
    now: datetime,
    renderer: Renderer,
    links: UnsubscribeLinks,
    message_id_domain: str,
) -> Delivery:
    language = preferred_language(preference, COORDINATOR_LANGUAGE.value)
    unsubscribe_url = links.url(preference.id) if preference else None
    template = Template.COORDINATOR_DIGEST.value
    return Delivery.queue(
        event_id=digest_key(recipient, day),
        event_type=DIGEST_EVENT_TYPE,
        template=template,
        recipient=recipient,
        role=RecipientRole.COORDINATOR,
        language=language,
        rendered=renderer.render(template, language, digest_context(items, day, unsubscribe_url)),
        message_id_domain=message_id_domain,
        now=now,
        mentions=mentioned_in(items),
        list_unsubscribe=unsubscribe_url,
    )


async def queue_due_digests(
    command: QueueDueDigests,
    uow: NotificationsUnitOfWork,
    renderer: Renderer,
    links: UnsubscribeLinks,
    message_id_domain: str,
    digest_hour: int,
    clock: Clock,
) -> Pause:
    """Queue the digests due now (catching up a day whose hour passed), then sleep until the next hour."""
    await queue_digests(QueueDigests(clock()), uow, renderer, links, message_id_domain, digest_hour)
    return Pause(seconds_until_next_digest(clock(), digest_hour))
