"""The sender: takes due deliveries from the log, hands each to the SMTP server, records the outcome.

It runs beside the consumer, never inside its transaction. A commit that queued deliveries wakes
it; it also polls. Each delivery is claimed with a lease, sent, then marked sent (or retried later,
or failed) in one transaction with its NotificationSent/NotificationFailed event. If the process
dies between sending and marking, the lease runs out and the email goes again with the same
Message-ID, so the duplicate is recognisable. While the server is away it probes with one
delivery at a time, backing off, so a long outage does not use up every delivery's attempts.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

import structlog

from services.notifications.db import NotificationsUnitOfWork
from services.notifications.domain import (
    Delivery,
    Outcome,
    PermanentFailure,
    RetryPolicy,
    ServerUnavailable,
    Status,
    TemporaryFailure,
)
from services.notifications.smtp import OutgoingEmail
from shared.contracts.notifications import NotificationFailed, NotificationSent
from shared.db import utcnow
from shared.errors import InvalidTransition

log = structlog.get_logger(__name__)
OUTAGE_PROBE_MAX_SECONDS = 30.0


class Mailer(Protocol):
    async def send(self, email: OutgoingEmail) -> None: ...


def notification_event(delivery: Delivery, outcome: Outcome, now: datetime) -> NotificationSent | NotificationFailed:
    common = {
        "delivery_id": delivery.id,
        "event_id": delivery.event_id,
        "template": delivery.template,
        "recipient_role": delivery.recipient_role.value,
        "language": delivery.language,
        "status": outcome.status.value,
        "attempts": delivery.attempts,
        "error": outcome.error,
    }
    if outcome.status is Status.SENT:
        return NotificationSent(**common, message_id=delivery.message_id, sent_at=now)
    return NotificationFailed(**common, failed_at=now)


class DeliverySender:
    def __init__(
        self,
        uow_factory: Callable[[], NotificationsUnitOfWork],
        mailer: Mailer,
        policy: RetryPolicy,
        *,
        poll_seconds: float = 1.0,
        batch_size: int = 50,
        lease: timedelta = timedelta(minutes=2),
    ) -> None:
        self._uow_factory = uow_factory
        self._mailer = mailer
        self._policy = policy
        self._poll_seconds = poll_seconds
        self._batch_size = batch_size
        self._lease = lease
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        """Send forever; cancel the task to stop."""
        outages = 0
        database_backoff = 0.5
        while True:
            self._wake.clear()
            try:
                attempted, server_unavailable = await self.send_due()
            except Exception as exc:  # the database is away: the log keeps everything, try again later
                log.warning("sender.database_unavailable", error_type=type(exc).__name__, retry_in=database_backoff)
                await asyncio.sleep(database_backoff)
                database_backoff = min(database_backoff * 2, 30.0)
                continue
            database_backoff = 0.5
            if server_unavailable:
                outages += 1
                # Probe at least every half minute, so mail flows soon after the server is back.
                pause = min(self._policy.delay(outages).total_seconds(), OUTAGE_PROBE_MAX_SECONDS)
                log.warning("sender.smtp_unavailable", retry_in=pause)
                await asyncio.sleep(pause)
                continue
            outages = 0
            if attempted < self._batch_size:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._poll_seconds)

    async def send_due(self) -> tuple[int, bool]:
        """Try one batch of due deliveries: (how many were tried, whether the server was unavailable)."""
        async with self._uow_factory() as uow:
            due = await uow.deliveries.due(utcnow(), self._batch_size)
        for count, delivery_id in enumerate(due, start=1):
            if not await self._attempt(delivery_id):
                return count, True
        return len(due), False

    async def _attempt(self, delivery_id: uuid.UUID) -> bool:
        """Claim, send and record one delivery; false when the server could not be used at all."""
        now = utcnow()
        async with self._uow_factory() as uow:
            if not await uow.deliveries.claim(delivery_id, now, now + self._lease):
                return True  # another sender took it, or it is no longer due
            delivery = await uow.deliveries.get(delivery_id)
            await uow.commit()
        assert delivery is not None
        if delivery.recipient is None or delivery.body_text is None or delivery.body_html is None:
            return await self._record(delivery_id, lambda d, at: d.record_permanent_failure("content erased", at))

        email = OutgoingEmail(
            delivery.recipient,
            delivery.subject,
            delivery.body_text,
            delivery.body_html,
            delivery.message_id,
            delivery.language,
            delivery.list_unsubscribe,
        )
        try:
            await self._mailer.send(email)
        except PermanentFailure as exc:
            error = str(exc)
            return await self._record(delivery_id, lambda d, at: d.record_permanent_failure(error, at))
        except TemporaryFailure as exc:
            error = str(exc)
            await self._record(delivery_id, lambda d, at: d.record_temporary_failure(error, at, self._policy))
            return not isinstance(exc, ServerUnavailable)
        except Exception as exc:  # a surprise: retried with backoff like a 4xx, so it cannot spin or be lost
            error = f"unexpected {type(exc).__name__}"  # no traceback: it could quote the recipient
            log.error("delivery.unexpected_error", delivery_id=str(delivery_id), error_type=type(exc).__name__)
            return await self._record(delivery_id, lambda d, at: d.record_temporary_failure(error, at, self._policy))
        return await self._record(delivery_id, lambda d, at: d.record_sent(at))

    async def _record(self, delivery_id: uuid.UUID, change: Callable[[Delivery, datetime], Outcome | None]) -> bool:
        now = utcnow()
        async with self._uow_factory() as uow:
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
