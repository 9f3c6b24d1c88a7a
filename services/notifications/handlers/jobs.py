"""Periodic work, run by the composition root as PeriodicJobs: the sender and the daily digest.

The sender takes due deliveries from the log, hands each to the SMTP server and records the outcome.
It runs beside the consumer, never inside its transaction; a commit that queued deliveries wakes
it, and it also polls. A text that brings its recipient their private profile link holds a placeholder: the
sender signs the link in (MEETMALMO_PROFILE_LINK_SECRET) just before SMTP, so no row holds it. Each attempt
claims its delivery with a lease (a token of its own and a time), notes that it hands the email over
(only if it still holds the lease), sends, then records the outcome (sent, waiting, failed, unknown) in one
transaction with its NotificationSent/NotificationFailed event, only if it still holds the lease (a
"sent" is recorded whatever happened meanwhile: it is a fact). Several attempts run at once, one per
SMTP connection, each taking the next email when its last is done; their handovers are noted a few at a time
(as many as there are connections), in one statement, just before they go. A round
claims its batch in one statement and records the emails the server took together when its waves are done:
their outcomes in one statement, their events in one more, in one transaction.

Nothing is sent twice by the sender itself: an email whose "sent" could not be written (the database
went away) is kept in memory and recorded before anything else is sent; a lease that runs out without
an outcome after the handover began (the process died mid-attempt, or before it recorded the round's
"sent") makes the outcome unknown, not a resend, while one that runs out before it (claimed, never tried)
gives the delivery back to be sent; and the server not
answering after the message was handed over is unknown too. Staff see unknown emails and may send
them again. While the server is away the sender probes with one delivery a round, waiting longer each
time, and waiting emails use up no attempts.

The digest job wakes at the digest hour (at least hourly) and queues the day's digests, each a
delivery the sender then sends like any other.
"""

from __future__ import annotations

import asyncio
import collections
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import structlog

from services.notifications.adapters.rendering import Renderer
from services.notifications.db.unit_of_work import NotificationsUnitOfWork
from services.notifications.domain import (
    COORDINATOR_LANGUAGE,
    DIGEST_EVENT_TYPE,
    MALMO_TIME,
    CoordinatorPreference,
    Deferred,
    Delivery,
    Mailer,
    Outage,
    Outcome,
    OutcomeUnknown,
    OutgoingEmail,
    PermanentFailure,
    RecipientRole,
    RetryPolicy,
    ServerUnavailable,
    SignProfileLink,
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
from services.notifications.domain.sending import OUTAGE_PROBE_MAX_SECONDS
from services.notifications.links import UnsubscribeLinks
from shared.contracts import Event
from shared.db import Clock
from shared.errors import InvalidTransition
from shared.jobs import AT_ONCE, Pause

log = structlog.get_logger(__name__)
Change = Callable[[Delivery, datetime], Outcome | None]
UowFactory = Callable[[], NotificationsUnitOfWork]
LAPSED = "the sender stopped during the attempt: whether the server took the email is not known"


@dataclass(frozen=True)
class SendDueEmails:
    """One round of the sender: returns when to run the next (see shared.jobs.PeriodicJob).
    `parallel` attempts run at once (one per SMTP connection)."""

    batch_size: int = 50
    lease: timedelta = timedelta(minutes=2)
    parallel: int = 1


@dataclass
class Unrecorded:
    """What a round could not write down because the database was away, written first by the next round:
    emails the server took whose "sent" is not recorded (so a database error after a send never sends again),
    and deliveries it claimed and never handed over whose giving back is not recorded, by the round's token
    (so they wait for the database, not for their lease to run out)."""

    sent: dict[uuid.UUID, datetime] = field(default_factory=dict)
    unreleased: dict[uuid.UUID, list[uuid.UUID]] = field(default_factory=dict)


@dataclass(frozen=True)
class PurgeDeliveryBodies:
    """One round of the retention job: the texts of deliveries finished more than `keep` ago go."""

    keep: timedelta


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
    new_uow: UowFactory,
    mailer: Mailer,
    policy: RetryPolicy,
    outage: Outage,
    unrecorded: Unrecorded,
    clock: Clock,
    sign_profile_link: SignProfileLink,
) -> Pause | None:
    """Try one batch of due deliveries: None (wait for a wake or the poll) when it was not full, at
    once again when it was, a pause until the next probe when the server is away.

    The batch is claimed in one statement, and the emails the server took are recorded together in one
    transaction once the round's attempts are done (each failure at once, on its own); deliveries claimed
    and never handed over (the server was found away, the database went away first, the sender stops) are
    given back, by the next round if the database is away at the end of this one."""
    if unrecorded.sent:  # a database error here ends the round
        await _record_sent(dict(unrecorded.sent), new_uow)
        unrecorded.sent.clear()
    for earlier, unsent in list(unrecorded.unreleased.items()):
        await _release(unsent, earlier, new_uow, clock)
        del unrecorded.unreleased[earlier]
    async with uow:
        if released := await uow.deliveries.release_never_handed_over(clock()):  # claimed by a sender that died
            log.info("delivery.untried_released", count=released)
            await uow.commit()
    async with uow:
        lapsed = await uow.deliveries.lapsed_leases(clock(), command.batch_size)
        due = await uow.deliveries.due(clock(), command.batch_size)
    for delivery_id, token in lapsed:  # still held by the attempt that let it lapse, or recorded meanwhile
        log.warning("delivery.outcome_unknown", delivery_id=str(delivery_id), reason="lease ran out")
        await _record(delivery_id, token, new_uow, lambda d, at: d.record_unknown(LAPSED, at), clock())
    parallel = max(1, command.parallel)
    token = uuid.uuid4()  # this round's attempts
    sent: dict[uuid.UUID, datetime] = {}
    away = False
    probe = due[:1] if outage.rounds else []  # the server was away at the last round: one before the others
    rest = due[len(probe) :]
    claimed: list[Delivery] = []
    try:
        for batch in (probe, rest):
            if not batch or away:
                continue
            now = clock()
            async with new_uow() as claiming:
                taken = await claiming.deliveries.claim_many(batch, token, now, now + command.lease)
                await claiming.commit()
            claimed += taken
            handovers = _Handovers(taken, parallel, token, new_uow, clock, sign_profile_link)
            if not await _attempt_all(handovers, parallel, token, new_uow, mailer, policy, sent, clock):
                away = True  # the server is away: the rest wait for the next probe
    finally:
        # Shielded: a stop (cancellation) arriving now must not keep what the server took from being written down.
        settling = asyncio.ensure_future(
            _settle(sent, [d.id for d in claimed if d.id not in sent], token, new_uow, unrecorded, clock)
        )
        try:
            await asyncio.shield(settling)
        except asyncio.CancelledError:
            await settling
            raise
    if away:
        pause = outage.continues(policy)
        log.warning("sender.smtp_unavailable", retry_in=pause)
        return Pause(pause)
    outage.ended()
    return AT_ONCE if len(due) >= command.batch_size else None


def _content_erased(delivery: Delivery, at: datetime) -> Outcome:
    return delivery.record_permanent_failure("content erased", at)


class _Handovers:
    """A round's claimed deliveries, handed to its attempts one at a time: `ahead` at a time have their handover
    noted in one statement just before they go, only those whose lease still holds (an erasure, a staff action or
    a lapsed lease may have come in between). The recipient's profile link is signed into each text here, just
    before it is handed over, and kept nowhere. Once `stopped`, no more are noted, but those noted are still handed
    out (a delivery whose handover began is never given back: it would end up unknown); the rest are given back
    by `_settle`."""

    def __init__(
        self,
        claimed: list[Delivery],
        ahead: int,
        token: uuid.UUID,
        new_uow: UowFactory,
        clock: Clock,
        sign_profile_link: SignProfileLink,
    ) -> None:
        self._waiting = collections.deque(claimed)
        self._noted: collections.deque[tuple[Delivery, OutgoingEmail]] = collections.deque()
        self._ahead, self._token, self._new_uow = ahead, token, new_uow
        self._clock, self._sign_profile_link = clock, sign_profile_link
        self._lock = asyncio.Lock()
        self.stopped = False

    async def next(self) -> tuple[Delivery, OutgoingEmail] | None:
        """The next delivery to hand over with its email, or None when there is none left."""
        async with self._lock:
            while not self._noted:
                if self.stopped or not self._waiting:
                    return None
                await self._note([self._waiting.popleft() for _ in range(min(self._ahead, len(self._waiting)))])
            return self._noted.popleft()

    async def _note(self, chunk: list[Delivery]) -> None:
        token, clock = self._token, self._clock
        ready: list[tuple[Delivery, OutgoingEmail]] = []
        for delivery in chunk:
            if (email := delivery.outgoing(self._sign_profile_link)) is not None:
                ready.append((delivery, email))
                continue
            await _record(delivery.id, token, self._new_uow, _content_erased, clock())
        if not ready:
            return
        async with self._new_uow() as uow:
            held = await uow.deliveries.begin_handover_many([delivery.id for delivery, _ in ready], token, clock())
            await uow.commit()
        for delivery, email in ready:
            if delivery.id in held:
                self._noted.append((delivery, email))
            else:
                log.warning("delivery.lease_lost", delivery_id=str(delivery.id), stage="before sending")


async def _attempt_all(
    handovers: _Handovers,
    parallel: int,
    token: uuid.UUID,
    new_uow: UowFactory,
    mailer: Mailer,
    policy: RetryPolicy,
    sent: dict[uuid.UUID, datetime],
    clock: Clock,
) -> bool:
    """`parallel` attempts at a time (one per SMTP connection), each taking the next delivery as soon as its last
    is done, until none is left; false when the server could not be used at all (then, as after an error, the
    emails whose handover was noted still go, and the rest are not tried).

    A stop (cancellation) lets the attempts in flight finish (bounded by the SMTP timeout), so that no email being
    handed over is left without its outcome (it would end up unknown); nothing more is noted."""
    reached = True
    errors: list[Exception] = []

    async def attempts() -> None:
        nonlocal reached
        while True:
            try:
                item = await handovers.next()
            except Exception as exc:  # the handover could not be noted (the database is away): nothing of it went
                errors.append(exc)
                handovers.stopped = True
                return
            if item is None:
                return
            delivery, email = item
            try:
                if not await _attempt(delivery, email, token, new_uow, mailer, policy, sent, clock):
                    reached, handovers.stopped = False, True
            except Exception as exc:  # the database is away, say: the noted ones still go, and are kept if sent
                errors.append(exc)
                handovers.stopped = True

    workers = [asyncio.create_task(attempts()) for _ in range(parallel)]
    try:
        await asyncio.wait(workers)
    except asyncio.CancelledError:
        handovers.stopped = True
        await asyncio.wait(workers)
        raise
    if errors:
        raise errors[0]  # every attempt has finished: the job backs off
    return reached


async def _settle(
    sent: dict[uuid.UUID, datetime],
    unsent: list[uuid.UUID],
    token: uuid.UUID,
    new_uow: UowFactory,
    unrecorded: Unrecorded,
    clock: Clock,
) -> None:
    """The end of a round: what the server took is recorded (kept in memory if it cannot be: it is never sent
    again), what was claimed and not handed over is given back (kept in memory if it cannot be, for the next
    round; if the sender dies first, its lease runs out and it is given back then). `unsent` may name
    deliveries whose outcome was recorded or whose handover began: `release` leaves those as they are."""
    if sent:
        try:
            await _record_sent(sent, new_uow)
        except Exception as exc:  # the server took them: never send them again, write them down as soon as possible
            unrecorded.sent.update(sent)
            log.error("delivery.sent_not_recorded", count=len(sent), error_type=type(exc).__name__)
    if unsent:
        try:
            await _release(unsent, token, new_uow, clock)
        except Exception as exc:
            unrecorded.unreleased[token] = unsent
            log.error("delivery.release_failed", count=len(unsent), error_type=type(exc).__name__)


async def _release(delivery_ids: list[uuid.UUID], token: uuid.UUID, new_uow: UowFactory, clock: Clock) -> None:
    async with new_uow() as uow:
        await uow.deliveries.release(delivery_ids, token, clock())
        await uow.commit()


async def _attempt(
    delivery: Delivery,
    email: OutgoingEmail,
    token: uuid.UUID,
    new_uow: UowFactory,
    mailer: Mailer,
    policy: RetryPolicy,
    sent: dict[uuid.UUID, datetime],
    clock: Clock,
) -> bool:
    """Send one delivery claimed by `token`, its handover noted, and note when the server took it (in `sent`), or
    record how it failed; false when the server could not be used at all."""
    delivery_id = delivery.id
    try:
        await mailer.send(email)
    except OutcomeUnknown as exc:
        error = str(exc)
        log.warning("delivery.outcome_unknown", delivery_id=str(delivery_id), reason="no answer after DATA")
        await _record(delivery_id, token, new_uow, lambda d, at: d.record_unknown(error, at), clock())
        return True
    except PermanentFailure as exc:
        error = str(exc)
        await _record(delivery_id, token, new_uow, lambda d, at: d.record_permanent_failure(error, at), clock())
        return True
    except Deferred as exc:  # nothing handed over: wait, using up no attempt
        error, away = str(exc), isinstance(exc, ServerUnavailable)
        wait = policy.delay(delivery.attempts)
        if away:  # the whole server: probed again soon, so wait no longer than the probes do
            wait = min(wait, timedelta(seconds=OUTAGE_PROBE_MAX_SECONDS))
        await _record(delivery_id, token, new_uow, lambda d, at: d.record_deferred(error, at, wait, policy), clock())
        return not away
    except TemporaryFailure as exc:
        error = str(exc)
        await _record(delivery_id, token, new_uow, lambda d, at: d.record_temporary_failure(error, at, policy), clock())
        return True
    except Exception as exc:  # a surprise before the server answered: retried with backoff, using up an attempt
        error = f"unexpected {type(exc).__name__}"  # no traceback: it could quote the recipient
        log.error("delivery.unexpected_error", delivery_id=str(delivery_id), error_type=type(exc).__name__)
        await _record(delivery_id, token, new_uow, lambda d, at: d.record_temporary_failure(error, at, policy), clock())
        return True
    sent[delivery_id] = clock()  # recorded with the round's others, at its end (see _settle)
    return True


async def _record_sent(sent: dict[uuid.UUID, datetime], new_uow: UowFactory) -> None:
    """The server took these: record each "sent" (a fact, whoever holds the lease now) with its event, all in
    one transaction."""
    recorded: list[Delivery] = []
    events: list[Event] = []
    async with new_uow() as uow:
        for delivery in await uow.deliveries.get_many(sent, for_update=True):  # an erasure may be writing them
            at = sent[delivery.id]
            try:
                outcome = delivery.record_sent(at)
            except InvalidTransition as exc:  # changed meanwhile: theirs stands
                log.warning("delivery.outcome_not_recorded", delivery_id=str(delivery.id), reason=str(exc))
                continue
            events.append(notification_event(delivery, outcome, at))
            recorded.append(delivery)
        await uow.deliveries.save_many(recorded)  # one statement for the round's outcomes, one for their events
        await uow.emit_many(events)
        await uow.commit()
    for delivery in recorded:
        log.info("delivery.attempted", delivery_id=str(delivery.id), template=delivery.template,
                 status=delivery.status.value, attempts=delivery.attempts, error=None)  # fmt: skip


async def _record(
    delivery_id: uuid.UUID,
    token: uuid.UUID | None,
    new_uow: UowFactory,
    change: Change,
    now: datetime,
) -> None:
    """Apply the outcome if the attempt `token` still holds the lease (None: whoever holds it, for a fact)."""
    async with new_uow() as uow:
        delivery = await uow.deliveries.get(delivery_id, for_update=True)  # an erasure may be writing it
        assert delivery is not None
        if token is not None and delivery.lease_token != token:
            log.warning("delivery.lease_lost", delivery_id=str(delivery_id), stage="recording")
            return
        try:
            outcome = change(delivery, now)
        except InvalidTransition as exc:  # changed meanwhile (e.g. cancelled by an erasure): theirs stands
            log.warning("delivery.outcome_not_recorded", delivery_id=str(delivery_id), reason=str(exc))
            return
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


async def purge_delivery_bodies(command: PurgeDeliveryBodies, uow: NotificationsUnitOfWork, clock: Clock) -> int:
    """Bodies hold personal data: once an email is long done, only its log entry (masked address) stays."""
    now = clock()
    async with uow:
        purged = await uow.deliveries.purge_bodies(now - command.keep, now)
        await uow.commit()
    if purged:
        log.info("deliveries.bodies_purged", count=purged)
    return purged


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
    unsubscribe_url = links.versioned_url(preference.id, preference.link_version) if preference else None
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
