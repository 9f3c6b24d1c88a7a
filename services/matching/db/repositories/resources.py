"""The resources projection: the people in the pool with their load (live seats), each row carrying the
pool version that last changed it."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.matching.db.repositories.rows import contact_of, contact_row, organisation_of, organisation_row
from services.matching.db.tables import groups, resources, seats
from services.matching.domain.group import ACTIVE_SEATS, LIVE_GROUPS
from services.matching.domain.profiles import Resource
from shared.db import from_row, present, to_row, upsert, write_rows


class ResourceRepository:
    def __init__(self, session: AsyncSession, version: Callable[[], Awaitable[int]]) -> None:
        self._session = session
        self._version = version  # this transaction's pool version (taking the pool lock)

    async def find(self, resource_id: uuid.UUID) -> Resource | None:
        row = (await self._session.execute(select(resources).where(resources.c.id == resource_id))).one_or_none()
        return None if row is None else _from_row(row._mapping)

    async def many(self, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Resource]:
        wanted = list(set(ids))
        if not wanted:
            return {}
        rows = await self._session.execute(select(resources).where(resources.c.id.in_(wanted)))
        return {row.id: _from_row(row._mapping) for row in rows}

    async def changed_since(self, version: int) -> list[Resource]:
        """Everyone whose row changed after that pool version."""
        rows = await self._session.execute(select(resources).where(resources.c.version > version))
        return [_from_row(row._mapping) for row in rows]

    async def count(self) -> int:
        return int(await self._session.scalar(select(func.count()).select_from(resources)) or 0)

    async def ids(self) -> set[uuid.UUID]:
        return set(await self._session.scalars(select(resources.c.id)))

    async def upsert(self, resource: Resource, at: datetime) -> None:
        values = _to_row(resource) | {"updated_at": at, "version": await self._version()}
        changes = {name: value for name, value in values.items() if name not in ("id", "load")}
        await self._session.execute(upsert(self._session, resources, values | {"load": 0}, key=["id"], update=changes))
        await self.refresh_loads([resource.id])

    async def upsert_many(self, people: Iterable[Resource], at: datetime) -> None:
        """`upsert` for many people (each once) in one statement (on PostgreSQL one execution: `write_rows`), and
        one recount of their load."""
        version = await self._version()
        rows = [_to_row(r) | {"updated_at": at, "version": version, "load": 0} for r in people]
        if not rows:
            return
        changes = [name for name in rows[0] if name not in ("id", "load")]
        await write_rows(self._session, resources, rows, key=["id"], update=changes)
        await self.refresh_loads((row["id"] for row in rows), seated_only=True)

    async def deactivate_many(self, ids: Iterable[uuid.UUID], at: datetime) -> None:
        wanted = list(set(ids))
        if wanted:
            await self._session.execute(
                update(resources)
                .where(resources.c.id.in_(wanted))
                .values(active=False, updated_at=at, version=await self._version())
            )

    async def deactivate(self, resource_id: uuid.UUID, at: datetime) -> None:
        await self._session.execute(
            update(resources)
            .where(resources.c.id == resource_id)
            .values(active=False, updated_at=at, version=await self._version())
        )

    async def erase(self, resource_id: uuid.UUID) -> None:
        await self._session.execute(delete(resources).where(resources.c.id == resource_id))

    async def refresh_loads(self, ids: Iterable[uuid.UUID], *, seated_only: bool = False) -> None:
        """Recount the live seats of these people (after seats or groups changed). `seated_only`: only of
        those with a seat at all (whoever never had one has load 0 already: a replay rewrites no row)."""
        wanted = list(set(ids))
        if wanted and seated_only:
            # Asked first, so that the UPDATE names only them: given `id IN (hundreds) AND EXISTS (a seat)` the
            # planner scans every row of the pool (a replay's batch: 5 ms at 60,000 people, growing with them).
            wanted = list(await present(self._session, seats, "resource_id", wanted))
        if not wanted:
            return
        live_seats = (
            select(func.count())
            .select_from(seats.join(groups, groups.c.id == seats.c.group_id))
            .where(
                seats.c.resource_id == resources.c.id,
                seats.c.status.in_([s.value for s in ACTIVE_SEATS]),
                groups.c.status.in_([g.value for g in LIVE_GROUPS]),
            )
            .scalar_subquery()
        )
        await self._session.execute(
            update(resources).where(resources.c.id.in_(wanted)).values(load=live_seats, version=await self._version())
        )


def _to_row(r: Resource) -> dict[str, Any]:
    return to_row(
        r,
        resources,
        **contact_row(r.contact),
        **organisation_row(r.organisation),
        competences=sorted(c.value for c in r.competences),
        themes=sorted(t.value for t in r.themes),
        languages=sorted(r.languages),
    )


def _from_row(row: Any) -> Resource:
    return from_row(Resource, row, contact=contact_of(row), organisation=organisation_of(row))
