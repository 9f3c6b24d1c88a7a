"""The daily digest: coordinators who chose it get the day's alerts in one email at a set local hour.

An alert for such a coordinator is held when it is queued (rendered without the layout, as one part
of a digest). Once a day, at the digest hour in Malmö's time, every coordinator with held alerts gets
one digest: a delivery of its own, sent like any other. Its key (coordinator, day) makes a second
run on the same day queue nothing; alerts held after the day's digest wait for the next one. The
digest is non-essential, so it carries an unsubscribe link (and the List-Unsubscribe headers).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from services.notifications.domain.deliveries import Delivery
from services.notifications.domain.preferences import address_key

DIGEST_NAMESPACE = uuid.UUID("6f1c1f0e-58a4-4b8e-9a51-5d0b8c0d1a7e")
DIGEST_EVENT_TYPE = "CoordinatorDigest"
LONGEST_WAIT_SECONDS = 3600.0  # the digest job wakes at least hourly, whatever the clock did meanwhile


def _malmo_time() -> tzinfo:
    try:
        return ZoneInfo("Europe/Stockholm")
    except ZoneInfoNotFoundError:  # an image without the time zone database
        return UTC


MALMO_TIME = _malmo_time()
"""The digest hour and the moments shown in emails are Malmö's wall-clock time."""


def digest_key(recipient: str, day: date) -> uuid.UUID:
    """The digest's event id: one digest per coordinator and day, so a rerun of the day queues nothing."""
    return uuid.uuid5(DIGEST_NAMESPACE, f"{day.isoformat()}:{address_key(recipient)}")


def digest_day(now: datetime, hour: int, zone: tzinfo) -> date | None:
    """The local day whose digest is due at `now`; None before the digest hour."""
    local = now.astimezone(zone)
    return local.date() if local.hour >= hour else None


def next_digest_at(now: datetime, hour: int, zone: tzinfo) -> datetime:
    """The next moment (after `now`) at which a digest falls due, in `zone`'s wall-clock time."""
    local = now.astimezone(zone)
    candidate = datetime.combine(local.date(), time(hour), tzinfo=zone)
    if candidate <= local:
        candidate = datetime.combine(local.date() + timedelta(days=1), time(hour), tzinfo=zone)
    return candidate


def seconds_until_next_digest(now: datetime, hour: int, zone: tzinfo = MALMO_TIME) -> float:
    """How long the digest job sleeps: until the next digest hour, at least a second, at most an hour."""
    wait = (next_digest_at(now, hour, zone) - now).total_seconds()
    return min(max(wait, 1.0), LONGEST_WAIT_SECONDS)


def held_by_recipient(held: Iterable[Delivery]) -> dict[str, list[Delivery]]:
    """The held alerts that still have something to say, by coordinator, in the order given."""
    by_recipient: dict[str, list[Delivery]] = {}
    for item in held:
        if item.recipient is not None and item.body_text is not None and item.body_html is not None:
            by_recipient.setdefault(item.recipient, []).append(item)
    return by_recipient


def digest_context(items: Iterable[Delivery], day: date, unsubscribe_url: str | None) -> dict[str, Any]:
    """What the digest template shows: each alert in full, the day, the way out."""
    return {
        "items": [{"subject": i.subject, "text": i.body_text, "html": i.body_html} for i in items],
        "day": day.isoformat(),
        "unsubscribe_url": unsubscribe_url,
    }


def mentioned_in(items: Iterable[Delivery]) -> frozenset[uuid.UUID]:
    """The digest shows what its alerts show: erasing a person clears it too."""
    return frozenset().union(*(item.mentions for item in items))
