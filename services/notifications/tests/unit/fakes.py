"""Notifications over fakes: in-memory repositories behind a unit of work, a mailer that records,
and the message bus wired as bootstrap wires it, with a clock the test moves."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from types import TracebackType

from services.notifications.adapters.rendering import Renderer
from services.notifications.consumers import SUBSCRIPTIONS
from services.notifications.db.repositories import DeliveryRepository, Preferences, ProfileLinks
from services.notifications.db.unit_of_work import NotificationsUnitOfWork
from services.notifications.domain import (
    AlertMode,
    CoordinatorPreference,
    Delivery,
    DeliveryFilter,
    Outage,
    OutgoingEmail,
    RetryPolicy,
    ServerUnavailable,
    Status,
    address_key,
)
from services.notifications.handlers import HANDLERS
from services.notifications.handlers.jobs import Unrecorded
from services.notifications.links import UnsubscribeLinks
from shared.contracts import Envelope, Event
from shared.contracts.links import profile_link
from shared.erasure import InMemoryErasedSubjects
from shared.messagebus import MessageBus

from ..factories import COORDINATORS, WEB

PROFILE_LINK_SECRET = "handler-tests-profile-link-secret-32-characters"

NOW = datetime(2026, 11, 27, 13, 0, tzinfo=UTC)  # 14:00 in Malmö, after the digest hour


class FakeDeliveries(DeliveryRepository):
    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, Delivery] = {}
        self.handed_over: set[uuid.UUID] = set()  # the handover_at column: an attempt began to send it

    async def add(self, delivery: Delivery) -> bool:
        key = (delivery.event_id, delivery.template, delivery.recipient_key)  # the log's unique key
        if delivery.id in self.rows or any(
            (d.event_id, d.template, d.recipient_key) == key for d in self.rows.values()
        ):
            return False
        self.rows[delivery.id] = dataclasses.replace(delivery)
        return True

    async def add_many(self, queued: Sequence[Delivery]) -> set[uuid.UUID]:
        return {delivery.id for delivery in queued if await self.add(delivery)}

    async def get(self, delivery_id: uuid.UUID, *, for_update: bool = False) -> Delivery | None:
        found = self.rows.get(delivery_id)
        return dataclasses.replace(found) if found else None

    async def get_many(self, delivery_ids: Iterable[uuid.UUID], *, for_update: bool = False) -> list[Delivery]:
        return [dataclasses.replace(self.rows[i]) for i in sorted(set(delivery_ids)) if i in self.rows]

    async def save(self, delivery: Delivery) -> None:
        self.rows[delivery.id] = dataclasses.replace(delivery)

    async def save_many(self, changed: Sequence[Delivery]) -> None:
        for delivery in changed:
            await self.save(delivery)

    def _waiting(self, now: datetime, leased: bool) -> list[Delivery]:
        found = [
            d
            for d in self.rows.values()
            if d.status is Status.QUEUED
            and d.next_attempt_at
            and d.next_attempt_at <= now
            and (d.lease_token is not None) == leased
        ]
        return sorted(found, key=lambda d: (d.next_attempt_at or now, d.created_at))

    async def due(self, now: datetime, limit: int) -> list[uuid.UUID]:
        return [d.id for d in self._waiting(now, leased=False)][:limit]

    async def lapsed_leases(self, now: datetime, limit: int) -> list[tuple[uuid.UUID, uuid.UUID]]:
        lapsed = [d for d in self._waiting(now, leased=True) if d.lease_token and d.id in self.handed_over]
        return [(d.id, d.lease_token) for d in lapsed if d.lease_token][:limit]

    async def begin_handover_many(
        self, delivery_ids: Iterable[uuid.UUID], token: uuid.UUID, now: datetime
    ) -> set[uuid.UUID]:
        held = {i for i in delivery_ids if self.rows[i].holds_lease(token, now)}
        self.handed_over |= held
        return held

    async def release_never_handed_over(self, now: datetime) -> int:
        untried = [d for d in self._waiting(now, leased=True) if d.lease_token and d.id not in self.handed_over]
        for found in untried:
            found.next_attempt_at, found.lease_token, found.attempts = now, None, found.attempts - 1
            found.updated_at = now
        return len(untried)

    async def claim(self, delivery_id: uuid.UUID, token: uuid.UUID, now: datetime, lease_until: datetime) -> bool:
        found = self.rows[delivery_id]
        if found not in self._waiting(now, leased=False):
            return False
        found.next_attempt_at, found.attempts, found.updated_at = lease_until, found.attempts + 1, now
        found.lease_token = token
        self.handed_over.discard(delivery_id)
        return True

    async def claim_many(
        self, delivery_ids: Iterable[uuid.UUID], token: uuid.UUID, now: datetime, lease_until: datetime
    ) -> list[Delivery]:
        return [dataclasses.replace(self.rows[i]) for i in delivery_ids if await self.claim(i, token, now, lease_until)]

    async def release(self, delivery_ids: Iterable[uuid.UUID], token: uuid.UUID, now: datetime) -> int:
        released = 0
        for i in delivery_ids:
            found = self.rows[i]
            if found.status is Status.QUEUED and found.lease_token == token and i not in self.handed_over:
                found.next_attempt_at, found.lease_token, found.attempts = now, None, found.attempts - 1
                found.updated_at, released = now, released + 1
        return released

    async def to_or_about_resource(self, resource_id: uuid.UUID) -> tuple[list[Delivery], list[Delivery]]:
        to_them = [d for d in self.rows.values() if d.resource_id == resource_id]
        about_them = [d for d in self.rows.values() if d.resource_id != resource_id and resource_id in d.mentions]
        return [dataclasses.replace(d) for d in to_them], [dataclasses.replace(d) for d in about_them]

    async def about_initiative(self, initiative_id: uuid.UUID) -> list[Delivery]:
        digests = {d.digest_id for d in self.rows.values() if d.initiative_id == initiative_id and d.digest_id}
        return [
            dataclasses.replace(d) for d in self.rows.values() if d.initiative_id == initiative_id or d.id in digests
        ]

    async def held(self) -> list[Delivery]:
        return [dataclasses.replace(d) for d in self.rows.values() if d.status is Status.HELD]

    async def exists(self, event_id: uuid.UUID, recipient: str, template: str) -> bool:
        return any((d.event_id, d.recipient, d.template) == (event_id, recipient, template) for d in self.rows.values())

    async def page(self, filters: DeliveryFilter, limit: int, offset: int) -> tuple[list[Delivery], int]:
        found = sorted(self.rows.values(), key=lambda d: d.created_at, reverse=True)
        return found[offset : offset + limit], len(found)

    def to(self, recipient: str | None) -> list[Delivery]:
        return [d for d in self.rows.values() if d.recipient == recipient]


class FakeProfileLinks(ProfileLinks):
    def __init__(self) -> None:
        self.links: dict[uuid.UUID, int] = {}

    async def remember(self, resource_id: uuid.UUID, link_version: int, now: datetime) -> None:
        self.links[resource_id] = link_version

    async def of(self, resource_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, int]:
        return {rid: self.links[rid] for rid in resource_ids if rid in self.links}

    async def forget(self, resource_id: uuid.UUID) -> None:
        self.links.pop(resource_id, None)


class FakePreferences(Preferences):
    def __init__(self) -> None:
        self.by_email: dict[str, CoordinatorPreference] = {}

    async def of(self, email: str) -> CoordinatorPreference | None:
        return self.by_email.get(address_key(email))

    async def by_id(self, preference_id: uuid.UUID) -> CoordinatorPreference | None:
        return next((p for p in self.by_email.values() if p.id == preference_id), None)

    async def of_many(self, emails: Iterable[str]) -> dict[str, CoordinatorPreference]:
        return {address_key(e): self.by_email[address_key(e)] for e in emails if address_key(e) in self.by_email}

    async def set(self, email: str, mode: AlertMode, language: str | None, now: datetime) -> CoordinatorPreference:
        known = self.by_email.get(address_key(email))
        preference = CoordinatorPreference(known.id if known else uuid.uuid4(), address_key(email), mode, language)
        self.by_email[preference.email] = preference
        return preference

    async def switch_to_immediate(self, preference_id: uuid.UUID, now: datetime) -> bool:
        found = await self.by_id(preference_id)
        if found is None:
            return False
        self.by_email[found.email] = dataclasses.replace(found, alert_mode=AlertMode.IMMEDIATE)
        return True


class FakeUnitOfWork(NotificationsUnitOfWork):
    """The same instance for every use case, so a test sees what the last one left behind."""

    def __init__(self) -> None:
        self.deliveries = FakeDeliveries()
        self.profile_links = FakeProfileLinks()
        self.preferences = FakePreferences()
        self.erased = InMemoryErasedSubjects()
        self.deliveries_queued = False
        self.events: list[Event] = []
        self.commits = 0
        self.sender_woken = 0
        self.failing_commits = 0  # the next commits raise, as when the database has gone away
        self.after_commit: Callable[[], None] = lambda: None

    async def __aenter__(self) -> FakeUnitOfWork:
        self._before = {key: dataclasses.replace(d) for key, d in self.deliveries.rows.items()}  # type: ignore[attr-defined]
        self._handed_over_before = set(self.deliveries.handed_over)  # type: ignore[attr-defined]
        self._events_before = len(self.events)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None

    async def emit(self, event: Event) -> Envelope:
        self.events.append(event)
        return Envelope.wrap(event, producer="notifications")

    async def emit_many(self, events: Sequence[Event]) -> list[Envelope]:
        return [await self.emit(event) for event in events]

    async def commit(self) -> None:
        if self.failing_commits:  # nothing of the transaction stays
            self.failing_commits -= 1
            self.deliveries.rows = self._before  # type: ignore[attr-defined]
            self.deliveries.handed_over = self._handed_over_before  # type: ignore[attr-defined]
            del self.events[self._events_before :]
            raise ConnectionRefusedError("the database is away")
        self.commits += 1
        self.after_commit()
        if self.deliveries_queued:
            self.deliveries_queued = False
            self.sender_woken += 1


class FakeMailer:
    def __init__(self) -> None:
        self.sent: list[OutgoingEmail] = []
        self.away = False
        self.failures: list[Exception] = []  # raised by the next sends, in turn
        self.after_send: Callable[[], None] = lambda: None

    async def send(self, email: OutgoingEmail) -> None:
        if self.away:
            raise ServerUnavailable("ConnectionRefusedError: nobody listens")
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(email)
        self.after_send()

    async def close(self) -> None:
        return None


class Harness:
    def __init__(self, coordinators: tuple[str, ...] = COORDINATORS) -> None:
        self.uow = FakeUnitOfWork()
        self.mailer = FakeMailer()
        self.unrecorded = Unrecorded()
        self.now = NOW
        self.links = UnsubscribeLinks("http://notifications.test", "handler-tests-secret-of-32-characters")
        self.profile_links = profile_link(WEB, PROFILE_LINK_SECRET)  # as resources verifies it
        self.bus = MessageBus(
            lambda: self.uow,
            HANDLERS,
            {
                "clock": lambda: self.now,
                "links": self.links,
                "renderer": Renderer(),
                "mailer": self.mailer,
                "new_uow": lambda: self.uow,
                "unrecorded": self.unrecorded,
                "sign_profile_link": self.profile_links.versioned_url,
                "policy": RetryPolicy(max_attempts=3, base_seconds=2, max_seconds=10),
                "outage": Outage(),
                "coordinators": coordinators,
                "web_url": WEB,
                "message_id_domain": "meetmalmo.se",
                "digest_hour": 7,
            },
        )
        self._handlers = {t: self.bus.bind(h) for by_type in SUBSCRIPTIONS.values() for t, h in by_type.items()}

    async def consume(self, event: Event, envelope: Envelope | None = None) -> Envelope:
        """What the idempotent consumer does with an event it has not seen: the handler, then commit."""
        envelope = envelope or Envelope.wrap(event, producer="tests")
        await self._handlers[type(event)](event, self.uow, envelope)
        await self.uow.commit()
        return envelope

    @property
    def deliveries(self) -> FakeDeliveries:
        return self.uow.deliveries  # type: ignore[return-value]

    def statuses(self) -> dict[tuple[str | None, str], Status]:
        return {(d.recipient, d.template): d.status for d in self.deliveries.rows.values()}
