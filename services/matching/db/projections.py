"""The projections' repositories: accepted initiatives, and the people in the pool with their load."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.matching.db.tables import groups, initiatives, resources, seats
from services.matching.domain.group import ACTIVE_SEATS, LIVE_GROUPS
from services.matching.domain.profiles import Contact, Initiative, Organisation, Resource
from shared.errors import NotFound
from shared.taxonomy import Competence, OrganisationType, Theme


class InitiativeRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, initiative_id: uuid.UUID) -> Initiative:
        row = (await self._session.execute(select(initiatives).where(initiatives.c.id == initiative_id))).one_or_none()
        if row is None:
            raise NotFound("initiative", initiative_id)
        return _initiative(row._mapping)

    async def find(self, initiative_id: uuid.UUID) -> Initiative | None:
        try:
            return await self.get(initiative_id)
        except NotFound:
            return None

    async def upsert(self, initiative: Initiative, at: datetime) -> None:
        values = _initiative_row(initiative) | {"updated_at": at}
        changed = await self._session.execute(
            update(initiatives).where(initiatives.c.id == initiative.id).values(**values)
        )
        if changed.rowcount == 0:  # type: ignore[attr-defined]
            await self._session.execute(insert(initiatives).values(id=initiative.id, **values))

    async def set_problem(self, initiative_id: uuid.UUID, problem: str | None) -> None:
        await self._session.execute(
            update(initiatives).where(initiatives.c.id == initiative_id).values(formation_problem=problem)
        )

    async def waiting(self) -> list[uuid.UUID]:
        """Accepted initiatives that have no group yet because the pool could not form one."""
        rows = await self._session.scalars(
            select(initiatives.c.id)
            .where(initiatives.c.status == "accepted", initiatives.c.formation_problem.is_not(None))
            .order_by(initiatives.c.id)
        )
        return list(rows)


def _initiative_row(i: Initiative) -> dict[str, Any]:
    return {
        "reference": i.reference,
        "title": i.title,
        "summary": i.summary,
        "status": i.status,
        "themes": [t.value for t in i.themes],
        "competences_needed": [c.value for c in i.competences],
        "group_size_min": i.size_min,
        "group_size_max": i.size_max,
        "language": i.language,
        "organisation_name": i.originator.name,
        "organisation_type": i.originator.type.value,
        "organisation_number": i.originator.number,
        "contact_name": i.contact.name,
        "contact_email": i.contact.email,
        "contact_phone": i.contact.phone,
        "formation_problem": i.formation_problem,
    }


def _initiative(row: Any) -> Initiative:
    return Initiative(
        id=row["id"],
        reference=row["reference"],
        title=row["title"],
        summary=row["summary"],
        status=row["status"],
        themes=tuple(Theme(t) for t in row["themes"]),
        competences=tuple(Competence(c) for c in row["competences_needed"]),
        size_min=row["group_size_min"],
        size_max=row["group_size_max"],
        language=row["language"],
        originator=Organisation(
            row["organisation_name"], OrganisationType(row["organisation_type"]), row["organisation_number"]
        ),
        contact=Contact(row["contact_name"], row["contact_email"], row["contact_phone"]),
        formation_problem=row["formation_problem"],
    )


class ResourceRepository:
    def __init__(self, session: AsyncSession, version: Callable[[], Awaitable[int]]) -> None:
        self._session = session
        self._version = version  # this transaction's pool version (taking the pool lock)

    async def find(self, resource_id: uuid.UUID) -> Resource | None:
        row = (await self._session.execute(select(resources).where(resources.c.id == resource_id))).one_or_none()
        return None if row is None else resource_from_row(row._mapping)

    async def many(self, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Resource]:
        wanted = list(set(ids))
        if not wanted:
            return {}
        rows = await self._session.execute(select(resources).where(resources.c.id.in_(wanted)))
        return {row.id: resource_from_row(row._mapping) for row in rows}

    async def upsert(self, resource: Resource, at: datetime) -> None:
        values = _resource_row(resource) | {"updated_at": at, "version": await self._version()}
        changed = await self._session.execute(update(resources).where(resources.c.id == resource.id).values(**values))
        if changed.rowcount == 0:  # type: ignore[attr-defined]
            await self._session.execute(insert(resources).values(id=resource.id, load=0, **values))
        await self.refresh_loads([resource.id])

    async def deactivate(self, resource_id: uuid.UUID, at: datetime) -> None:
        await self._session.execute(
            update(resources)
            .where(resources.c.id == resource_id)
            .values(active=False, updated_at=at, version=await self._version())
        )

    async def erase(self, resource_id: uuid.UUID) -> None:
        await self._session.execute(delete(resources).where(resources.c.id == resource_id))

    async def refresh_loads(self, ids: Iterable[uuid.UUID]) -> None:
        """Recount the live seats of these people (after seats or groups changed)."""
        wanted = list(set(ids))
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


def _resource_row(r: Resource) -> dict[str, Any]:
    return {
        "name": r.contact.name,
        "email": r.contact.email,
        "phone": r.contact.phone,
        "language": r.language,
        "organisation_name": r.organisation.name,
        "organisation_type": r.organisation.type.value,
        "organisation_number": r.organisation.number,
        "role_title": r.role_title,
        "competences": sorted(c.value for c in r.competences),
        "themes": sorted(t.value for t in r.themes),
        "languages": sorted(r.languages),
        "capacity": r.capacity,
        "active": r.active,
    }


def resource_from_row(row: Any) -> Resource:
    return Resource(
        id=row["id"],
        contact=Contact(row["name"], row["email"], row["phone"]),
        language=row["language"],
        organisation=Organisation(
            row["organisation_name"], OrganisationType(row["organisation_type"]), row["organisation_number"]
        ),
        role_title=row["role_title"],
        competences=frozenset(Competence(c) for c in row["competences"]),
        themes=frozenset(Theme(t) for t in row["themes"]),
        languages=frozenset(row["languages"]),
        capacity=row["capacity"],
        active=row["active"],
        load=row["load"],
    )
