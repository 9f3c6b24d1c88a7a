"""Notifications's repositories: the delivery log, the resources' profile links, the coordinators' preferences."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifications.db.tables import coordinator_preferences, deliveries, delivery_mentions, resource_profiles
from services.notifications.domain import (
    AlertMode,
    CoordinatorPreference,
    Delivery,
    DeliveryFilter,
    Status,
    address_key,
)
from shared.db import from_row, insert_ignore_many, to_row, update_rows, upsert
from shared.tracing import current_traceparent

FINISHED = (Status.SENT, Status.FAILED, Status.UNKNOWN, Status.CANCELLED, Status.IN_DIGEST)  # nothing left to send

# What a delivery's life changes; the rest is fixed when it is queued.
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
    "lease_token",
    "failures",
    "updated_at",
)


def _from_row(row: Row[Any], mentions: frozenset[uuid.UUID] = frozenset()) -> Delivery:
    """`mentions` are child rows (delivery_mentions), read only where a delivery's text is reused."""
    return from_row(Delivery, row._asdict(), mentions=mentions)


def _where(filters: DeliveryFilter) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if filters.status is not None:
        where.append(deliveries.c.status == filters.status.value)
    if filters.template is not None:
        where.append(deliveries.c.template == filters.template)
    if filters.recipient_role is not None:
        where.append(deliveries.c.recipient_role == filters.recipient_role.value)
    if filters.created_from is not None:
        where.append(deliveries.c.created_at >= filters.created_from)
    if filters.created_until is not None:
        where.append(deliveries.c.created_at < filters.created_until)
    return where


class DeliveryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, delivery: Delivery) -> bool:
        """Queue the delivery unless this event already has one for the recipient and template."""
        return bool(await self.add_many([delivery]))

    async def add_many(self, queued: Sequence[Delivery]) -> set[uuid.UUID]:
        """Queue the deliveries, each unless its event already has one for the recipient and template, in one
        statement (and their mentions in one more); the ids of those queued. Without a trace context of their
        own they join the current span's trace."""
        if not queued:
            return set()
        traceparent = current_traceparent()
        rows = [to_row(delivery, deliveries) for delivery in queued]
        for row in rows:
            row["trace_context"] = row["trace_context"] or traceparent
        statement = insert_ignore_many(self._session, deliveries).returning(deliveries.c.id)
        added = set(await self._session.scalars(statement, rows))
        mentions = [
            {"delivery_id": delivery.id, "resource_id": rid}
            for delivery in queued
            if delivery.id in added
            for rid in sorted(delivery.mentions)
        ]
        if mentions:
            await self._session.execute(delivery_mentions.insert(), mentions)
        return added

    async def get(self, delivery_id: uuid.UUID, *, for_update: bool = False) -> Delivery | None:
        """One delivery; `for_update` locks its row until commit, for a read-modify-write (PostgreSQL)."""
        query = select(deliveries).where(deliveries.c.id == delivery_id)
        row = (await self._session.execute(query.with_for_update() if for_update else query)).first()
        return _from_row(row) if row else None

    async def get_many(self, delivery_ids: Iterable[uuid.UUID], *, for_update: bool = False) -> list[Delivery]:
        """Several deliveries (in id order, so that two writers lock them in the same order)."""
        query = select(deliveries).where(deliveries.c.id.in_(list(delivery_ids))).order_by(deliveries.c.id)
        return [_from_row(row) for row in await self._session.execute(query.with_for_update() if for_update else query)]

    async def save(self, delivery: Delivery) -> None:
        await self.save_many([delivery])

    async def save_many(self, changed: Sequence[Delivery]) -> None:
        """Write back what the deliveries' lives changed, in one statement (`update_rows`)."""
        rows = []
        for delivery in changed:
            row = to_row(delivery, deliveries)
            rows.append({"id": delivery.id, **{name: row[name] for name in _MUTABLE}})
        await update_rows(self._session, deliveries, rows)

    async def due(self, now: datetime, limit: int) -> list[uuid.UUID]:
        """Queued deliveries whose time has come and that no attempt holds, the longest waiting first."""
        query = (
            select(deliveries.c.id)
            .where(
                deliveries.c.status == Status.QUEUED.value,
                deliveries.c.next_attempt_at <= now,
                deliveries.c.lease_token.is_(None),
            )
            .order_by(deliveries.c.next_attempt_at, deliveries.c.created_at)
            .limit(limit)
        )
        return list(await self._session.scalars(query))

    async def claim(self, delivery_id: uuid.UUID, token: uuid.UUID, now: datetime, lease_until: datetime) -> bool:
        """Take a due delivery for one attempt, named `token`; false if another sender took it first.

        The lease (next_attempt_at pushed ahead, lease_token set) keeps every other sender off it. If the
        attempt never records its outcome (the process died) after it began to hand the email over
        (`begin_handover`), the lease runs out and the delivery's outcome becomes unknown (`lapsed_leases`): it
        is never sent again by itself; if it died before that, the delivery is given back
        (`release_never_handed_over`).
        """
        return bool(await self.claim_many([delivery_id], token, now, lease_until))

    async def claim_many(
        self, delivery_ids: Iterable[uuid.UUID], token: uuid.UUID, now: datetime, lease_until: datetime
    ) -> list[Delivery]:
        """`claim` for several deliveries in one statement; returns those this attempt took, as they are now."""
        wanted = list(delivery_ids)
        if not wanted:
            return []
        result = await self._session.execute(
            update(deliveries)
            .where(
                deliveries.c.id.in_(wanted),
                deliveries.c.status == Status.QUEUED.value,
                deliveries.c.next_attempt_at <= now,
                deliveries.c.lease_token.is_(None),
            )
            .values(
                next_attempt_at=lease_until,
                lease_token=token,
                handover_at=None,
                attempts=deliveries.c.attempts + 1,
                updated_at=now,
            )
            .returning(*deliveries.c)
        )
        return [_from_row(row) for row in result]

    async def release(self, delivery_ids: Iterable[uuid.UUID], token: uuid.UUID, now: datetime) -> int:
        """Give back deliveries `token` claimed and never began to hand over (the server was found away, the
        database went away before the handover was noted, or the sender stops): due again at once, the attempt
        not counted. One whose handover began, or whose outcome is recorded, is left as it is."""
        wanted = list(delivery_ids)
        if not wanted:
            return 0
        result = await self._session.execute(
            update(deliveries)
            .where(
                deliveries.c.id.in_(wanted),
                deliveries.c.status == Status.QUEUED.value,
                deliveries.c.lease_token == token,
                deliveries.c.handover_at.is_(None),
            )
            .values(next_attempt_at=now, lease_token=None, attempts=deliveries.c.attempts - 1, updated_at=now)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def begin_handover(self, delivery_id: uuid.UUID, token: uuid.UUID, now: datetime) -> bool:
        """Note that attempt `token` hands the delivery to the server now, if it still holds its lease (the
        delivery still queued, claimed by it, the lease not run out): false when it does not (an erasure, a
        staff action or a lapsed lease came in between), and it must not send."""
        return delivery_id in await self.begin_handover_many([delivery_id], token, now)

    async def begin_handover_many(
        self, delivery_ids: Iterable[uuid.UUID], token: uuid.UUID, now: datetime
    ) -> set[uuid.UUID]:
        """`begin_handover` for several deliveries in one statement: the ids of those attempt `token` may send."""
        wanted = list(delivery_ids)
        if not wanted:
            return set()
        held = await self._session.scalars(
            update(deliveries)
            .where(
                deliveries.c.id.in_(wanted),
                deliveries.c.status == Status.QUEUED.value,
                deliveries.c.lease_token == token,
                deliveries.c.next_attempt_at > now,
            )
            .values(handover_at=now)
            .returning(deliveries.c.id)
        )
        return set(held)

    async def release_never_handed_over(self, now: datetime) -> int:
        """Give back the deliveries whose lease ran out before their attempt began to hand them over (their
        sender died with them claimed but untried): due again at once, the attempt not counted."""
        result = await self._session.execute(
            update(deliveries)
            .where(
                deliveries.c.status == Status.QUEUED.value,
                deliveries.c.lease_token.is_not(None),
                deliveries.c.next_attempt_at <= now,
                deliveries.c.handover_at.is_(None),
            )
            .values(next_attempt_at=now, lease_token=None, attempts=deliveries.c.attempts - 1, updated_at=now)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def lapsed_leases(self, now: datetime, limit: int) -> list[tuple[uuid.UUID, uuid.UUID]]:
        """(delivery, lease token) of attempts whose lease ran out without an outcome after they began to hand
        the delivery over (their sender died mid-attempt, or before it recorded the round's "sent")."""
        query = (
            select(deliveries.c.id, deliveries.c.lease_token)
            .where(
                deliveries.c.status == Status.QUEUED.value,
                deliveries.c.lease_token.is_not(None),
                deliveries.c.next_attempt_at <= now,
                deliveries.c.handover_at.is_not(None),
            )
            .order_by(deliveries.c.next_attempt_at)
            .limit(limit)
        )
        return [(row.id, row.lease_token) for row in await self._session.execute(query)]

    async def purge_bodies(self, finished_before: datetime, now: datetime) -> int:
        """Drop the text of deliveries finished (sent, failed, unknown, cancelled, in a digest) before then;
        how many. One UPDATE: a sender or an erasure writing the same rows meanwhile cannot be undone."""
        result = await self._session.execute(
            update(deliveries)
            .where(
                deliveries.c.status.in_([s.value for s in FINISHED]),
                deliveries.c.updated_at < finished_before,
                or_(deliveries.c.body_text.is_not(None), deliveries.c.body_html.is_not(None)),
            )
            .values(body_text=None, body_html=None, erase_content_when_done=False, updated_at=now)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def to_or_about_resource(self, resource_id: uuid.UUID) -> tuple[list[Delivery], list[Delivery]]:
        """(deliveries to the person, deliveries to others whose text shows the person)."""
        mentioned = select(delivery_mentions.c.delivery_id).where(delivery_mentions.c.resource_id == resource_id)
        query = select(deliveries).where(or_(deliveries.c.resource_id == resource_id, deliveries.c.id.in_(mentioned)))
        # Locked: the sender must not write back a stale copy over the erasure (a lost update).
        found = await self._locked(query)
        return (
            [d for d in found if d.resource_id == resource_id],
            [d for d in found if d.resource_id != resource_id],
        )

    async def about_initiative(self, initiative_id: uuid.UUID) -> list[Delivery]:
        """Deliveries about the initiative, and the digests that carried alerts about it."""
        digests = select(deliveries.c.digest_id).where(
            deliveries.c.initiative_id == initiative_id, deliveries.c.digest_id.is_not(None)
        )
        return await self._locked(
            select(deliveries).where(or_(deliveries.c.initiative_id == initiative_id, deliveries.c.id.in_(digests)))
        )

    async def held(self) -> list[Delivery]:
        """Alerts waiting for a digest, oldest first, locked: two digest runs cannot both take one."""
        query = (
            select(deliveries)
            .where(deliveries.c.status == Status.HELD.value)
            .order_by(deliveries.c.created_at, deliveries.c.id)
            .with_for_update()
        )
        rows = list(await self._session.execute(query))
        if not rows:
            return []
        mentions = await self._session.execute(
            select(delivery_mentions).where(delivery_mentions.c.delivery_id.in_([row.id for row in rows]))
        )
        by_delivery: dict[uuid.UUID, set[uuid.UUID]] = {}
        for mention in mentions:
            by_delivery.setdefault(mention.delivery_id, set()).add(mention.resource_id)
        return [_from_row(row, frozenset(by_delivery.get(row.id, ()))) for row in rows]

    async def exists(self, event_id: uuid.UUID, recipient: str, template: str) -> bool:
        query = select(deliveries.c.id).where(
            deliveries.c.event_id == event_id, deliveries.c.recipient == recipient, deliveries.c.template == template
        )
        return (await self._session.scalar(query)) is not None

    async def page(self, filters: DeliveryFilter, limit: int, offset: int) -> tuple[list[Delivery], int]:
        """One page of the log, newest first, and how many deliveries match in all."""
        where = _where(filters)
        total = await self._session.scalar(select(func.count()).select_from(deliveries).where(*where))
        query = select(deliveries).where(*where).order_by(deliveries.c.created_at.desc(), deliveries.c.id)
        rows = await self._session.execute(query.limit(limit).offset(offset))
        return [_from_row(row) for row in rows], int(total or 0)

    async def _locked(self, query: Select[Any]) -> list[Delivery]:
        return [_from_row(row) for row in await self._session.execute(query.with_for_update())]


class ProfileLinks:
    """The version of each resource's private profile link (update, export, erase), for the footer of their
    emails: the sender signs the link from it. The link itself is kept nowhere."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def remember(self, resource_id: uuid.UUID, link_version: int, now: datetime) -> None:
        values = {"resource_id": resource_id, "link_version": link_version, "updated_at": now}
        await self._session.execute(
            upsert(
                self._session,
                resource_profiles,
                values,
                key=["resource_id"],
                update={"link_version": link_version, "updated_at": now},
            )
        )

    async def of(self, resource_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, int]:
        ids = list(resource_ids)
        if not ids:
            return {}
        query = select(resource_profiles.c.resource_id, resource_profiles.c.link_version).where(
            resource_profiles.c.resource_id.in_(ids)
        )
        return {row.resource_id: row.link_version for row in await self._session.execute(query)}

    async def forget(self, resource_id: uuid.UUID) -> None:
        await self._session.execute(delete(resource_profiles).where(resource_profiles.c.resource_id == resource_id))


class Preferences:
    """Each coordinator's choice of alerts (immediate or a daily digest) and language, by address."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def of(self, email: str) -> CoordinatorPreference | None:
        query = select(coordinator_preferences).where(coordinator_preferences.c.email == address_key(email))
        row = (await self._session.execute(query)).first()
        return from_row(CoordinatorPreference, row._asdict()) if row else None

    async def by_id(self, preference_id: uuid.UUID) -> CoordinatorPreference | None:
        query = select(coordinator_preferences).where(coordinator_preferences.c.id == preference_id)
        row = (await self._session.execute(query)).first()
        return from_row(CoordinatorPreference, row._asdict()) if row else None

    async def of_many(self, emails: Iterable[str]) -> dict[str, CoordinatorPreference]:
        """Stored preferences by lower-case address (coordinators without one are left out)."""
        wanted = sorted({address_key(email) for email in emails})
        if not wanted:
            return {}
        query = select(coordinator_preferences).where(coordinator_preferences.c.email.in_(wanted))
        rows = await self._session.execute(query)
        return {row.email: from_row(CoordinatorPreference, row._asdict()) for row in rows}

    async def set(self, email: str, mode: AlertMode, language: str | None, now: datetime) -> CoordinatorPreference:
        """Store the choice. Choosing the digest (again) is the reset of its unsubscribe links: the version goes
        up, so links in digests sent before stop working and the next digest carries the current one."""
        address = address_key(email)
        values = {"id": uuid.uuid4(), "email": address, "alert_mode": mode.value, "language": language}
        changed: dict[str, Any] = {"alert_mode": mode.value, "language": language, "updated_at": now}
        if mode is AlertMode.DAILY_DIGEST:
            changed["link_version"] = coordinator_preferences.c.link_version + 1
        await self._session.execute(
            upsert(self._session, coordinator_preferences, values | {"updated_at": now}, key=["email"], update=changed)
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
