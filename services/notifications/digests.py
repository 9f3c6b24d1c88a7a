"""The daily digest: coordinators who chose it get the day's alerts in one email at a set local hour.

An alert for such a coordinator is held when it is queued (rendered without the layout, as one part
of a digest). Once a day, at the digest hour in Malmö's time, every coordinator with held alerts gets
one digest: a delivery of its own, sent by the same sender. Its key (coordinator, day) makes a second
run on the same day queue nothing; alerts held after the day's digest wait for the next one. The
digest is non-essential, so it carries an unsubscribe link (and the List-Unsubscribe headers).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, tzinfo

import structlog

from services.notifications.db import CoordinatorPreference, NotificationsUnitOfWork
from services.notifications.domain import (
    DIGEST_EVENT_TYPE,
    AlertMode,
    Delivery,
    RecipientRole,
    Template,
    digest_day,
    digest_key,
    next_digest_at,
)
from services.notifications.emails import COORDINATOR_LANGUAGE
from services.notifications.links import UnsubscribeLinks
from services.notifications.rendering import MALMO_TIME, Renderer
from shared.db import utcnow
from shared.errors import NotFound

log = structlog.get_logger(__name__)
MAX_SLEEP_SECONDS = 3600.0  # wake at least hourly, whatever the clock did meanwhile


@dataclass(frozen=True)
class Digests:
    renderer: Renderer
    links: UnsubscribeLinks
    message_id_domain: str
    hour: int
    zone: tzinfo = MALMO_TIME

    async def queue_due(self, uow: NotificationsUnitOfWork, now: datetime) -> int:
        """Queue the digests due at `now` (none before the digest hour); how many were queued."""
        day = digest_day(now, self.hour, self.zone)
        if day is None:
            return 0
        queued = 0
        async with uow:
            by_recipient: dict[str, list[Delivery]] = {}
            for item in await uow.deliveries.held():
                if item.recipient is not None and item.body_text is not None and item.body_html is not None:
                    by_recipient.setdefault(item.recipient, []).append(item)
            preferences = await uow.preferences.of_many(by_recipient)
            for recipient, items in by_recipient.items():
                key = digest_key(recipient, day)
                if await uow.deliveries.exists(key, recipient, Template.COORDINATOR_DIGEST.value):
                    continue  # the day's digest is queued already; these wait for the next one
                digest = self._digest(recipient, items, preferences.get(recipient.strip().lower()), day, now)
                if not await uow.deliveries.add(digest):
                    continue
                for item in items:
                    item.take_into_digest(digest.id, now)
                    await uow.deliveries.save(item)
                queued += 1
            uow.deliveries_queued = queued > 0
            await uow.commit()
        if queued:
            log.info("digests.queued", count=queued, day=day.isoformat())
        return queued

    def _digest(
        self,
        recipient: str,
        items: list[Delivery],
        preference: CoordinatorPreference | None,
        day: date,
        now: datetime,
    ) -> Delivery:
        language = (preference.language if preference else None) or COORDINATOR_LANGUAGE.value
        unsubscribe_url = self.links.url(preference.id) if preference else None
        context = {
            "items": [{"subject": i.subject, "text": i.body_text, "html": i.body_html} for i in items],
            "day": day.isoformat(),
            "unsubscribe_url": unsubscribe_url,
        }
        template = Template.COORDINATOR_DIGEST.value
        return Delivery.queue(
            event_id=digest_key(recipient, day),
            event_type=DIGEST_EVENT_TYPE,
            template=template,
            recipient=recipient,
            role=RecipientRole.COORDINATOR,
            language=language,
            rendered=self.renderer.render(template, language, context),
            message_id_domain=self.message_id_domain,
            now=now,
            # The digest shows what its alerts show: erasing a person clears it too.
            mentions=frozenset().union(*(item.mentions for item in items)),
            list_unsubscribe=unsubscribe_url,
        )


class DigestScheduler:
    """Runs the digest at the digest hour (and at start, catching up a day whose hour passed)."""

    def __init__(self, digests: Digests, uow_factory: Callable[[], NotificationsUnitOfWork]) -> None:
        self._digests = digests
        self._uow_factory = uow_factory

    async def run_once(self, now: datetime) -> int:
        """Queue the digests due at `now` (the clock is an argument, so tests can choose the day)."""
        return await self._digests.queue_due(self._uow_factory(), now)

    async def run(self) -> None:
        """Forever; cancel the task to stop."""
        while True:
            try:
                await self.run_once(utcnow())
            except Exception as exc:  # the database is away: the held alerts wait, try again later
                log.warning("digests.not_queued", error_type=type(exc).__name__)
                await asyncio.sleep(30.0)
                continue
            now = utcnow()
            wait = (next_digest_at(now, self._digests.hour, self._digests.zone) - now).total_seconds()
            await asyncio.sleep(min(max(wait, 1.0), MAX_SLEEP_SECONDS))


async def preference_of(uow: NotificationsUnitOfWork, email: str) -> CoordinatorPreference | None:
    async with uow:
        return await uow.preferences.of(email)


async def set_preference(
    uow: NotificationsUnitOfWork, email: str, mode: AlertMode, language: str | None
) -> CoordinatorPreference:
    async with uow:
        preference = await uow.preferences.set(email, mode, language, utcnow())
        await uow.commit()
    return preference


async def unsubscribe(uow: NotificationsUnitOfWork, links: UnsubscribeLinks, token: str) -> None:
    """The digest's link: the coordinator gets each alert straight away again. Raises ValueError or NotFound."""
    preference_id = links.read(token)
    async with uow:
        if not await uow.preferences.switch_to_immediate(preference_id, utcnow()):
            raise NotFound("preference", preference_id)
        await uow.commit()


async def unsubscribe_target(
    uow: NotificationsUnitOfWork, links: UnsubscribeLinks, token: str
) -> CoordinatorPreference:
    """What the link names, for the page a GET shows (which changes nothing)."""
    preference_id = links.read(token)
    async with uow:
        preference = await uow.preferences.by_id(preference_id)
    if preference is None:
        raise NotFound("preference", preference_id)
    return preference
