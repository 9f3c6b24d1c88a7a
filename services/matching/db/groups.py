"""The Group repository: groups and their seats."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.matching.db.tables import groups, seats
from services.matching.domain.group import ACTIVE_SEATS, LIVE_GROUPS, Group, GroupStatus, Role, Seat, SeatStatus
from services.matching.domain.rules import Explanation
from shared.db import as_aware
from shared.errors import NotFound
from shared.taxonomy import Competence, OrganisationType, Theme


def _aware(moment: datetime | None) -> datetime | None:
    return None if moment is None else as_aware(moment)


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
        where = []
        if initiative_id is not None:
            where.append(groups.c.initiative_id == initiative_id)
        if status is not None:
            where.append(groups.c.status == status.value)
        total = await self._session.scalar(select(func.count()).select_from(groups).where(*where))
        rows = await self._session.execute(
            select(groups).where(*where).order_by(groups.c.created_at.desc(), groups.c.id).limit(limit).offset(offset)
        )
        return await self._load([r._mapping for r in rows]), int(total or 0)

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
        await self._session.execute(insert(groups).values(id=group.id, **_group_row(group)))
        self._stored_seats[group.id] = set()
        await self.save(group)

    async def save(self, group: Group) -> None:
        await self._session.execute(update(groups).where(groups.c.id == group.id).values(**_group_row(group)))
        stored = self._stored_seats.setdefault(group.id, set())
        for position, seat in enumerate(group.seats):
            row = _seat_row(seat)
            if seat.id in stored:
                await self._session.execute(update(seats).where(seats.c.id == seat.id).values(**row))
            else:
                await self._session.execute(
                    insert(seats).values(id=seat.id, group_id=group.id, position=position, **row)
                )
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
            by_group[s["group_id"]].append(_seat(s))
        found = []
        for r in rows:
            group = Group(
                id=r["id"],
                initiative_id=r["initiative_id"],
                size_min=r["size_min"],
                target_size=r["target_size"],
                representative_kind=OrganisationType(r["representative_kind"]),
                uncovered=tuple(Competence(c) for c in r["uncovered"]),
                solver=r["solver"],
                created_at=as_aware(r["created_at"]),
                status=GroupStatus(r["status"]),
                seats=by_group[r["id"]],
                confirmed_by=r["confirmed_by"],
                confirmed_at=_aware(r["confirmed_at"]),
                formed_at=_aware(r["formed_at"]),
                ended_at=_aware(r["ended_at"]),
                ended_reason=r["ended_reason"],
            )
            self._stored_seats[group.id] = {s.id for s in group.seats}
            found.append(group)
        return found


def _group_row(g: Group) -> dict[str, Any]:
    return {
        "initiative_id": g.initiative_id,
        "status": g.status.value,
        "size_min": g.size_min,
        "target_size": g.target_size,
        "representative_kind": g.representative_kind.value,
        "uncovered": [c.value for c in g.uncovered],
        "solver": g.solver,
        "created_at": g.created_at,
        "confirmed_by": g.confirmed_by,
        "confirmed_at": g.confirmed_at,
        "formed_at": g.formed_at,
        "ended_at": g.ended_at,
        "ended_reason": g.ended_reason,
    }


def _seat_row(s: Seat) -> dict[str, Any]:
    e = s.explanation
    return {
        "resource_id": s.resource_id,
        "role": s.role.value,
        "status": s.status.value,
        "explanation": {
            "competences_covered": [c.value for c in e.competences_covered],
            "themes_shared": [t.value for t in e.themes_shared],
            "load": e.load,
            "capacity": e.capacity,
            "representative": e.representative.value if e.representative else None,
        },
        "created_at": s.created_at,
        "replaces": s.replaces,
        "invited_at": s.invited_at,
        "expires_at": s.expires_at,
        "answered_at": s.answered_at,
    }


def _seat(row: Any) -> Seat:
    e = row["explanation"]
    return Seat(
        id=row["id"],
        resource_id=row["resource_id"],
        role=Role(row["role"]),
        status=SeatStatus(row["status"]),
        explanation=Explanation(
            competences_covered=tuple(Competence(c) for c in e["competences_covered"]),
            themes_shared=tuple(Theme(t) for t in e["themes_shared"]),
            load=e["load"],
            capacity=e["capacity"],
            representative=OrganisationType(e["representative"]) if e["representative"] else None,
        ),
        created_at=as_aware(row["created_at"]),
        replaces=row["replaces"],
        invited_at=_aware(row["invited_at"]),
        expires_at=_aware(row["expires_at"]),
        answered_at=_aware(row["answered_at"]),
    )
