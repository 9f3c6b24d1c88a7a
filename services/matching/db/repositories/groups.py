"""The Group repository: groups and their seats."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import ColumnElement, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.matching.db.tables import groups, seats
from services.matching.domain.group import ACTIVE_SEATS, LIVE_GROUPS, Group, GroupStatus, Seat, SeatStatus
from services.matching.domain.rules import Explanation
from shared.db import from_row, to_row
from shared.errors import NotFound

_explanations = TypeAdapter(Explanation)  # a seat's explanation is stored as JSON


class GroupRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._stored_seats: dict[uuid.UUID, set[uuid.UUID]] = {}

    async def get(self, group_id: uuid.UUID) -> Group:
        row = (await self._session.execute(select(groups).where(groups.c.id == group_id))).one_or_none()
        if row is None:
            raise NotFound("group", group_id)
        return (await self._load([row._mapping]))[0]

    async def of_seat(self, seat_id: uuid.UUID) -> Group:
        group_id = await self._session.scalar(select(seats.c.group_id).where(seats.c.id == seat_id))
        if group_id is None:
            raise NotFound("invitation", seat_id)
        return await self.get(group_id)

    async def with_live_group(self, initiative_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
        """Which of these initiatives have a live group."""
        wanted = list(set(initiative_ids))
        if not wanted:
            return set()
        found = await self._session.scalars(
            select(groups.c.initiative_id).where(
                groups.c.initiative_id.in_(wanted), groups.c.status.in_([s.value for s in LIVE_GROUPS])
            )
        )
        return set(found)

    async def live_for(self, initiative_id: uuid.UUID) -> Group | None:
        row = (
            await self._session.execute(
                select(groups).where(
                    groups.c.initiative_id == initiative_id,
                    groups.c.status.in_([s.value for s in LIVE_GROUPS]),
                )
            )
        ).first()
        return None if row is None else (await self._load([row._mapping]))[0]

    async def search(
        self, initiative_id: uuid.UUID | None, status: GroupStatus | None, limit: int, offset: int
    ) -> tuple[list[Group], int]:
        where = _where(initiative_id, status)
        total = await self._session.scalar(select(func.count()).select_from(groups).where(*where))
        rows = await self._session.execute(
            select(groups).where(*where).order_by(groups.c.created_at.desc(), groups.c.id).limit(limit).offset(offset)
        )
        return await self._load([r._mapping for r in rows]), int(total or 0)

    async def holders(self, resource_ids: Iterable[uuid.UUID], statuses: Iterable[GroupStatus]) -> set[uuid.UUID]:
        """Who of these people holds an active seat in a group in these statuses."""
        wanted = list(set(resource_ids))
        if not wanted:
            return set()
        found = await self._session.scalars(
            select(seats.c.resource_id)
            .join(groups, groups.c.id == seats.c.group_id)
            .where(
                seats.c.resource_id.in_(wanted),
                seats.c.status.in_([s.value for s in ACTIVE_SEATS]),
                groups.c.status.in_([s.value for s in statuses]),
            )
            .distinct()
        )
        return set(found)

    async def holding(self, resource_id: uuid.UUID, statuses: Iterable[GroupStatus]) -> list[Group]:
        """Groups in these statuses where the person holds an active seat."""
        ids = await self._session.scalars(
            select(groups.c.id)
            .join(seats, seats.c.group_id == groups.c.id)
            .where(
                seats.c.resource_id == resource_id,
                seats.c.status.in_([s.value for s in ACTIVE_SEATS]),
                groups.c.status.in_([s.value for s in statuses]),
            )
            .distinct()
        )
        return [await self.get(group_id) for group_id in sorted(ids)]

    async def with_expired_invitations(self, at: datetime) -> list[uuid.UUID]:
        ids = await self._session.scalars(
            select(seats.c.group_id)
            .join(groups, groups.c.id == seats.c.group_id)
            .where(
                seats.c.status == SeatStatus.INVITED.value,
                seats.c.expires_at <= at,
                groups.c.status == GroupStatus.CONFIRMED.value,
            )
            .distinct()
        )
        return sorted(ids)

    async def confirmed(self) -> list[uuid.UUID]:
        ids = await self._session.scalars(select(groups.c.id).where(groups.c.status == GroupStatus.CONFIRMED.value))
        return sorted(ids)

    async def add(self, group: Group) -> None:
        await self.add_many([group])

    async def add_many(self, new: Sequence[Group]) -> None:
        """New groups and their seats: two statements however many."""
        if not new:
            return
        await self._session.execute(insert(groups), [to_row(group, groups) for group in new])
        rows = [
            {"group_id": group.id, "position": position, **_seat_row(seat)}
            for group in new
            for position, seat in enumerate(group.seats)
        ]
        if rows:
            await self._session.execute(insert(seats), rows)
        for group in new:
            self._stored_seats[group.id] = {seat.id for seat in group.seats}

    async def save(self, group: Group) -> None:
        await self._session.execute(update(groups).where(groups.c.id == group.id).values(**to_row(group, groups)))
        stored = self._stored_seats.setdefault(group.id, set())
        for position, seat in enumerate(group.seats):
            # group_id and position are set once, when the seat is first stored
            row = _seat_row(seat)
            if seat.id in stored:
                await self._session.execute(update(seats).where(seats.c.id == seat.id).values(**row))
            else:
                await self._session.execute(insert(seats).values(group_id=group.id, position=position, **row))
                stored.add(seat.id)

    async def _load(self, rows: Sequence[Any]) -> list[Group]:
        if not rows:
            return []
        ids = [r["id"] for r in rows]
        seat_rows = (
            await self._session.execute(
                select(seats).where(seats.c.group_id.in_(ids)).order_by(seats.c.group_id, seats.c.position)
            )
        ).mappings()
        by_group: dict[uuid.UUID, list[Seat]] = {i: [] for i in ids}
        for s in seat_rows:
            by_group[s["group_id"]].append(from_row(Seat, dict(s)))
        found = []
        for r in rows:
            group = from_row(Group, r, seats=by_group[r["id"]])
            self._stored_seats[group.id] = {s.id for s in group.seats}
            found.append(group)
        return found


def _where(initiative_id: uuid.UUID | None, status: GroupStatus | None) -> list[ColumnElement[bool]]:
    where = []
    if initiative_id is not None:
        where.append(groups.c.initiative_id == initiative_id)
    if status is not None:
        where.append(groups.c.status == status.value)
    return where


def _seat_row(seat: Seat) -> dict[str, Any]:
    return to_row(seat, seats, explanation=_explanations.dump_python(seat.explanation, mode="json"))
