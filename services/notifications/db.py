"""Notifications's tables, its repositories and unit of work.

deliveries is the delivery log: one row per (event, recipient, template), so a redelivered event
queues nothing twice. delivery_mentions names the resources whose personal data a delivery's text
shows, so that erasing a person also clears other people's copies of it. resource_profiles keeps
each resource's private profile link for the footer of later emails. coordinator_preferences keeps
how each coordinator wants their alerts (one by one, or a daily digest) and in which language; a
digest is a delivery of its own, and each alert it carried points to it (digest_id).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Select,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.notifications.domain import AlertMode, Delivery, RecipientRole, Status
from shared.db import Timestamp, UnitOfWork, as_aware
from shared.inbox import define_processed_events_table
from shared.outbox import Outbox, define_outbox_table

metadata = MetaData()
outbox = define_outbox_table(metadata)
processed_events = define_processed_events_table(metadata)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("event_id", Uuid, nullable=False),
    Column("event_type", String(100), nullable=False),
    Column("template", String(60), nullable=False),
    Column("recipient", String(320), nullable=True),  # NULL once erased
    Column("recipient_role", String(20), nullable=False),
    Column("language", String(5), nullable=False),
    Column("resource_id", Uuid, nullable=True),
    Column("initiative_id", Uuid, nullable=True),
    Column("subject", Text, nullable=False),
    Column("body_text", Text, nullable=True),
    Column("body_html", Text, nullable=True),
    Column("message_id", String(255), nullable=False),
    Column("status", String(10), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text, nullable=True),
    Column("next_attempt_at", Timestamp(), nullable=True),
    Column("sent_at", Timestamp(), nullable=True),
    Column("erase_content_when_done", Boolean, nullable=False),
    Column("erase_recipient_when_done", Boolean, nullable=False),
    Column("list_unsubscribe", Text, nullable=True),
    Column("digest_id", Uuid, nullable=True),
    Column("created_at", Timestamp(), nullable=False),
    Column("updated_at", Timestamp(), nullable=False),
    UniqueConstraint("event_id", "recipient", "template", name="uq_deliveries_event_recipient_template"),
)
Index("ix_deliveries_due", deliveries.c.status, deliveries.c.next_attempt_at)
Index("ix_deliveries_created_at", deliveries.c.created_at)
Index("ix_deliveries_resource_id", deliveries.c.resource_id)
Index("ix_deliveries_initiative_id", deliveries.c.initiative_id)
Index("ix_deliveries_digest_id", deliveries.c.digest_id)

delivery_mentions = Table(
    "delivery_mentions",
    metadata,
    Column("delivery_id", Uuid, ForeignKey("deliveries.id", ondelete="CASCADE"), primary_key=True),
    Column("resource_id", Uuid, primary_key=True),
)
Index("ix_delivery_mentions_resource_id", delivery_mentions.c.resource_id)

resource_profiles = Table(
    "resource_profiles",
    metadata,
    Column("resource_id", Uuid, primary_key=True),
    Column("profile_url", Text, nullable=False),
    Column("updated_at", Timestamp(), nullable=False),
)

coordinator_preferences = Table(
    "coordinator_preferences",
    metadata,
    Column("id", Uuid, primary_key=True),  # what the unsubscribe link names (never the address)
    Column("email", String(320), nullable=False),  # lower case
    Column("alert_mode", String(20), nullable=False),
    Column("language", String(5), nullable=True),
    Column("updated_at", Timestamp(), nullable=False),
    UniqueConstraint("email", name="uq_coordinator_preferences_email"),
)

_MUTABLE = (
    "recipient",
    "body_text",
    "body_html",
    "status",
    "attempts",
    "last_error",
    "next_attempt_at",
    "sent_at",
    "erase_content_when_done",
    "erase_recipient_when_done",
    "digest_id",
    "updated_at",
)


def _insert(session: AsyncSession, table: Table) -> Any:
    """INSERT that can skip conflicting rows, in the dialect at hand (PostgreSQL or SQLite)."""
    dialect = session.get_bind().dialect.name
    return postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)


def _to_delivery(row: RowMapping) -> Delivery:
    def moment(value: datetime | None) -> datetime | None:
        return as_aware(value) if value is not None else None

    return Delivery(
        id=row["id"],
        event_id=row["event_id"],
        event_type=row["event_type"],
        template=row["template"],
        recipient=row["recipient"],
        recipient_role=RecipientRole(row["recipient_role"]),
        language=row["language"],
        resource_id=row["resource_id"],
        initiative_id=row["initiative_id"],
        subject=row["subject"],
        body_text=row["body_text"],
        body_html=row["body_html"],
        message_id=row["message_id"],
        status=Status(row["status"]),
        attempts=row["attempts"],
        last_error=row["last_error"],
        next_attempt_at=moment(row["next_attempt_at"]),
        sent_at=moment(row["sent_at"]),
        erase_content_when_done=row["erase_content_when_done"],
        erase_recipient_when_done=row["erase_recipient_when_done"],
        list_unsubscribe=row["list_unsubscribe"],
        digest_id=row["digest_id"],
        created_at=as_aware(row["created_at"]),
        updated_at=as_aware(row["updated_at"]),
    )


@dataclass(frozen=True)
class DeliveryFilter:
    status: Status | None = None
    template: str | None = None
    created_from: datetime | None = None
    created_until: datetime | None = None

    def apply(self, query: Select[Any]) -> Select[Any]:
        if self.status is not None:
            query = query.where(deliveries.c.status == self.status.value)
        if self.template is not None:
            query = query.where(deliveries.c.template == self.template)
        if self.created_from is not None:
            query = query.where(deliveries.c.created_at >= self.created_from)
        if self.created_until is not None:
            query = query.where(deliveries.c.created_at < self.created_until)
        return query


class DeliveryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, delivery: Delivery) -> bool:
        """Queue the delivery unless this event already has one for the recipient and template."""
        values = {c.name: getattr(delivery, c.name) for c in deliveries.columns}
        values["status"] = delivery.status.value
        values["recipient_role"] = delivery.recipient_role.value
        result = await self._session.execute(
            _insert(self._session, deliveries).values(**values).on_conflict_do_nothing()
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return False
        if delivery.mentions:
            await self._session.execute(
                delivery_mentions.insert(),
                [{"delivery_id": delivery.id, "resource_id": rid} for rid in sorted(delivery.mentions)],
            )
        return True

    async def get(self, delivery_id: uuid.UUID, *, for_update: bool = False) -> Delivery | None:
        """One delivery; `for_update` locks its row until commit, for a read-modify-write (PostgreSQL)."""
        query = select(deliveries).where(deliveries.c.id == delivery_id)
        row = (await self._session.execute(query.with_for_update() if for_update else query)).mappings().first()
        return _to_delivery(row) if row else None

    async def save(self, delivery: Delivery) -> None:
        values = {name: getattr(delivery, name) for name in _MUTABLE}
        values["status"] = delivery.status.value
        await self._session.execute(update(deliveries).where(deliveries.c.id == delivery.id).values(**values))

    async def due(self, now: datetime, limit: int) -> list[uuid.UUID]:
        """Queued deliveries whose time has come, the longest waiting first."""
        query = (
            select(deliveries.c.id)
            .where(deliveries.c.status == Status.QUEUED.value, deliveries.c.next_attempt_at <= now)
            .order_by(deliveries.c.next_attempt_at, deliveries.c.created_at)
            .limit(limit)
        )
        return list(await self._session.scalars(query))

    async def claim(self, delivery_id: uuid.UUID, now: datetime, lease_until: datetime) -> bool:
        """Take a due delivery for one attempt; false if another sender took it first.

        The lease (next_attempt_at pushed ahead) returns it to the queue if this process dies
        before recording the outcome.
        """
        result = await self._session.execute(
            update(deliveries)
            .where(
                deliveries.c.id == delivery_id,
                deliveries.c.status == Status.QUEUED.value,
                deliveries.c.next_attempt_at <= now,
            )
            .values(next_attempt_at=lease_until, attempts=deliveries.c.attempts + 1, updated_at=now)
        )
        return result.rowcount == 1  # type: ignore[attr-defined,no-any-return]

    async def to_or_about_resource(self, resource_id: uuid.UUID) -> tuple[list[Delivery], list[Delivery]]:
        """(deliveries to the person, deliveries to others whose text shows the person)."""
        mentioned = select(delivery_mentions.c.delivery_id).where(delivery_mentions.c.resource_id == resource_id)
        query = select(deliveries).where(or_(deliveries.c.resource_id == resource_id, deliveries.c.id.in_(mentioned)))
        # Locked: the sender must not write back a stale copy over the erasure (a lost update).
        found = [_to_delivery(row) for row in (await self._session.execute(query.with_for_update())).mappings()]
        return (
            [d for d in found if d.resource_id == resource_id],
            [d for d in found if d.resource_id != resource_id],
        )

    async def about_initiative(self, initiative_id: uuid.UUID) -> list[Delivery]:
        """Deliveries about the initiative, and the digests that carried alerts about it."""
        digests = select(deliveries.c.digest_id).where(
            deliveries.c.initiative_id == initiative_id, deliveries.c.digest_id.is_not(None)
        )
        query = (
            select(deliveries)
            .where(or_(deliveries.c.initiative_id == initiative_id, deliveries.c.id.in_(digests)))
            .with_for_update()
        )
        return [_to_delivery(row) for row in (await self._session.execute(query)).mappings()]

    async def held(self) -> list[Delivery]:
        """Alerts waiting for a digest, oldest first, locked: two digest runs cannot both take one."""
        query = (
            select(deliveries)
            .where(deliveries.c.status == Status.HELD.value)
            .order_by(deliveries.c.created_at, deliveries.c.id)
            .with_for_update()
        )
        found = [_to_delivery(row) for row in (await self._session.execute(query)).mappings()]
        if not found:
            return found
        mentions = await self._session.execute(
            select(delivery_mentions).where(delivery_mentions.c.delivery_id.in_([d.id for d in found]))
        )
        by_delivery: dict[uuid.UUID, set[uuid.UUID]] = {}
        for row in mentions:
            by_delivery.setdefault(row.delivery_id, set()).add(row.resource_id)
        for delivery in found:
            delivery.mentions = frozenset(by_delivery.get(delivery.id, ()))
        return found

    async def exists(self, event_id: uuid.UUID, recipient: str, template: str) -> bool:
        query = select(deliveries.c.id).where(
            deliveries.c.event_id == event_id, deliveries.c.recipient == recipient, deliveries.c.template == template
        )
        return (await self._session.scalar(query)) is not None

    async def page(self, where: DeliveryFilter, limit: int, offset: int) -> tuple[list[Delivery], int]:
        total = await self._session.scalar(where.apply(select(func.count()).select_from(deliveries)))
        query = where.apply(select(deliveries)).order_by(deliveries.c.created_at.desc(), deliveries.c.id)
        rows = (await self._session.execute(query.limit(limit).offset(offset))).mappings()
        return [_to_delivery(row) for row in rows], int(total or 0)


class ProfileLinks:
    """Each resource's private profile link (update, export, erase), for the footer of their emails."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def remember(self, resource_id: uuid.UUID, profile_url: str, now: datetime) -> None:
        insert = _insert(self._session, resource_profiles).values(
            resource_id=resource_id, profile_url=profile_url, updated_at=now
        )
        await self._session.execute(
            insert.on_conflict_do_update(
                index_elements=[resource_profiles.c.resource_id],
                set_={"profile_url": profile_url, "updated_at": now},
            )
        )

    async def of(self, resource_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
        ids = list(resource_ids)
        if not ids:
            return {}
        query = select(resource_profiles.c.resource_id, resource_profiles.c.profile_url).where(
            resource_profiles.c.resource_id.in_(ids)
        )
        return {row.resource_id: row.profile_url for row in await self._session.execute(query)}

    async def forget(self, resource_id: uuid.UUID) -> None:
        await self._session.execute(delete(resource_profiles).where(resource_profiles.c.resource_id == resource_id))


@dataclass(frozen=True)
class CoordinatorPreference:
    id: uuid.UUID
    email: str
    alert_mode: AlertMode
    language: str | None


class Preferences:
    """Each coordinator's choice of alerts (immediate or a daily digest) and language, by address."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def of(self, email: str) -> CoordinatorPreference | None:
        query = select(coordinator_preferences).where(coordinator_preferences.c.email == email.strip().lower())
        row = (await self._session.execute(query)).mappings().first()
        return _to_preference(row) if row else None

    async def by_id(self, preference_id: uuid.UUID) -> CoordinatorPreference | None:
        query = select(coordinator_preferences).where(coordinator_preferences.c.id == preference_id)
        row = (await self._session.execute(query)).mappings().first()
        return _to_preference(row) if row else None

    async def of_many(self, emails: Iterable[str]) -> dict[str, CoordinatorPreference]:
        """Stored preferences by lower-case address (coordinators without one are left out)."""
        wanted = sorted({email.strip().lower() for email in emails})
        if not wanted:
            return {}
        query = select(coordinator_preferences).where(coordinator_preferences.c.email.in_(wanted))
        return {row["email"]: _to_preference(row) for row in (await self._session.execute(query)).mappings()}

    async def set(self, email: str, mode: AlertMode, language: str | None, now: datetime) -> CoordinatorPreference:
        address = email.strip().lower()
        insert = _insert(self._session, coordinator_preferences).values(
            id=uuid.uuid4(), email=address, alert_mode=mode.value, language=language, updated_at=now
        )
        await self._session.execute(
            insert.on_conflict_do_update(
                index_elements=[coordinator_preferences.c.email],
                set_={"alert_mode": mode.value, "language": language, "updated_at": now},
            )
        )
        found = await self.of(address)
        assert found is not None
        return found

    async def switch_to_immediate(self, preference_id: uuid.UUID, now: datetime) -> bool:
        result = await self._session.execute(
            update(coordinator_preferences)
            .where(coordinator_preferences.c.id == preference_id)
            .values(alert_mode=AlertMode.IMMEDIATE.value, updated_at=now)
        )
        return result.rowcount == 1  # type: ignore[attr-defined,no-any-return]


def _to_preference(row: RowMapping) -> CoordinatorPreference:
    return CoordinatorPreference(row["id"], row["email"], AlertMode(row["alert_mode"]), row["language"])


class NotificationsUnitOfWork(UnitOfWork):
    """A commit that queued deliveries wakes the sender at once (it polls only as a fallback)."""

    deliveries: DeliveryRepository
    profile_links: ProfileLinks
    preferences: Preferences

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        outbox: Outbox,
        on_events_committed: Callable[[], None] = lambda: None,
        on_deliveries_queued: Callable[[], None] = lambda: None,
    ) -> None:
        super().__init__(session_factory, outbox, on_events_committed)
        self._on_deliveries_queued = on_deliveries_queued
        self.deliveries_queued = False

    async def __aenter__(self) -> NotificationsUnitOfWork:
        await super().__aenter__()
        self.deliveries = DeliveryRepository(self.session)
        self.profile_links = ProfileLinks(self.session)
        self.preferences = Preferences(self.session)
        self.deliveries_queued = False
        return self

    async def commit(self) -> None:
        await super().commit()
        if self.deliveries_queued:
            self.deliveries_queued = False
            self._on_deliveries_queued()
