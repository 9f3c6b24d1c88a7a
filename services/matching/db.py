"""Matching's tables, its repositories, the unit of work and the in-memory pool kept in step with them.

Every writing use case first takes the pool lock (one row, `pool_version`): writers are serialised,
so once it is held the in-memory pool, brought up to date from the rows changed since it last looked,
is exactly what the database holds. Rows carry the version that last changed them.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    Uuid,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.matching.domain.group import ACTIVE_SEATS, LIVE_GROUPS, Group, GroupStatus, Role, Seat, SeatStatus
from services.matching.domain.pool import Pool
from services.matching.domain.profiles import Contact, Initiative, Organisation, Resource
from services.matching.domain.rules import Explanation
from shared.db import Timestamp, UnitOfWork, as_aware
from shared.errors import NotFound
from shared.inbox import define_processed_events_table
from shared.outbox import define_outbox_table
from shared.taxonomy import Competence, OrganisationType, Theme

metadata = MetaData()
outbox = define_outbox_table(metadata)
processed_events = define_processed_events_table(metadata)

initiatives = Table(
    "initiatives",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("reference", String(20), nullable=False),
    Column("title", String(200), nullable=False),
    Column("summary", String(500), nullable=False),
    Column("status", String(20), nullable=False, index=True),
    Column("themes", JSON, nullable=False),
    Column("competences_needed", JSON, nullable=False),
    Column("group_size_min", Integer, nullable=False),
    Column("group_size_max", Integer, nullable=False),
    Column("language", String(2), nullable=False),
    Column("organisation_name", String(200), nullable=False),
    Column("organisation_type", String(40), nullable=False),
    Column("organisation_number", String(20), nullable=True),
    Column("contact_name", String(200), nullable=False),
    Column("contact_email", String(320), nullable=False),
    Column("contact_phone", String(30), nullable=True),
    Column("formation_problem", Text, nullable=True),  # why no group could be proposed yet
    Column("updated_at", Timestamp(), nullable=False),
)

resources = Table(
    "resources",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("email", String(320), nullable=False),
    Column("phone", String(30), nullable=True),
    Column("language", String(2), nullable=False),
    Column("organisation_name", String(200), nullable=False),
    Column("organisation_type", String(40), nullable=False),
    Column("organisation_number", String(20), nullable=True),
    Column("role_title", String(200), nullable=False),
    Column("competences", JSON, nullable=False),
    Column("themes", JSON, nullable=False),
    Column("languages", JSON, nullable=False),
    Column("capacity", Integer, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("load", Integer, nullable=False),  # seats in live groups: proposed, invited or accepted
    Column("version", BigInteger, nullable=False, index=True),
    Column("updated_at", Timestamp(), nullable=False),
)

# One row: the last version handed out; updating it is the pool lock every writer takes first.
pool_version = Table(
    "pool_version",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("value", BigInteger, nullable=False),
)

groups = Table(
    "groups",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("initiative_id", Uuid, nullable=False, index=True),
    Column("status", String(20), nullable=False, index=True),
    Column("size_min", Integer, nullable=False),
    Column("target_size", Integer, nullable=False),
    Column("representative_kind", String(40), nullable=False),
    Column("uncovered", JSON, nullable=False),
    Column("solver", String(20), nullable=False),
    Column("created_at", Timestamp(), nullable=False),
    Column("confirmed_by", String(320), nullable=True),
    Column("confirmed_at", Timestamp(), nullable=True),
    Column("formed_at", Timestamp(), nullable=True),
    Column("ended_at", Timestamp(), nullable=True),
    Column("ended_reason", Text, nullable=True),
)

seats = Table(
    "seats",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("group_id", Uuid, ForeignKey("groups.id", ondelete="CASCADE"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("resource_id", Uuid, nullable=False, index=True),
    Column("role", String(40), nullable=False),
    Column("status", String(20), nullable=False),
    Column("explanation", JSON, nullable=False),
    Column("created_at", Timestamp(), nullable=False),
    Column("replaces", Uuid, nullable=True),
    Column("invited_at", Timestamp(), nullable=True),
    Column("expires_at", Timestamp(), nullable=True),
    Column("answered_at", Timestamp(), nullable=True),
)
Index("ix_seats_group", seats.c.group_id, seats.c.position)
Index("ix_seats_status_expires", seats.c.status, seats.c.expires_at)


def _aware(moment: datetime | None) -> datetime | None:
    return None if moment is None else as_aware(moment)


# --- initiatives -----------------------------------------------------------------------------------


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


# --- resources -------------------------------------------------------------------------------------


class ResourceRepository:
    def __init__(self, session: AsyncSession, version: Callable[[], Awaitable[int]]) -> None:
        self._session = session
        self._version = version  # this transaction's pool version (taking the pool lock)

    async def find(self, resource_id: uuid.UUID) -> Resource | None:
        row = (await self._session.execute(select(resources).where(resources.c.id == resource_id))).one_or_none()
        return None if row is None else resource_of(row._mapping)

    async def many(self, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Resource]:
        wanted = list(set(ids))
        if not wanted:
            return {}
        rows = await self._session.execute(select(resources).where(resources.c.id.in_(wanted)))
        return {row.id: resource_of(row._mapping) for row in rows}

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


def resource_of(row: Any) -> Resource:
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


# --- groups ----------------------------------------------------------------------------------------


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


# --- the unit of work and the pool -----------------------------------------------------------------


class MatchingUnitOfWork(UnitOfWork):
    initiatives: InitiativeRepository
    resources: ResourceRepository
    groups: GroupRepository
    _version: int | None

    async def __aenter__(self) -> MatchingUnitOfWork:
        await super().__aenter__()
        self._version = None
        self.initiatives = InitiativeRepository(self.session)
        self.resources = ResourceRepository(self.session, self.lock_pool)
        self.groups = GroupRepository(self.session)
        return self

    async def lock_pool(self) -> int:
        """Take the pool lock for this transaction (once) and return the version its changes carry."""
        if self._version is None:
            version = await self.session.scalar(
                update(pool_version)
                .where(pool_version.c.id == 1)
                .values(value=pool_version.c.value + 1)
                .returning(pool_version.c.value)
            )
            if version is None:  # a database created without the migration's first row
                await self.session.execute(insert(pool_version).values(id=1, value=1))
                version = 1
            self._version = int(version)
        return self._version


class PoolCache:
    """The in-memory pool of this process, brought up to date from the rows changed since it last looked.

    Call `current()` while holding the pool lock to see exactly the committed pool."""

    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._session_factory = session_factory
        self._pool = Pool()
        self._version = -1
        self._lock = asyncio.Lock()

    async def current(self) -> Pool:
        async with self._lock, self._session_factory() as session:
            version = int(await session.scalar(select(pool_version.c.value)) or 0)
            if version == self._version:
                return self._pool
            rows = await session.execute(select(resources).where(resources.c.version > self._version))
            for row in rows:
                self._pool.upsert(resource_of(row._mapping).candidate)
            count = int(await session.scalar(select(func.count()).select_from(resources)) or 0)
            if count != len(self._pool):  # someone was erased: drop who is gone
                present = set(await session.scalars(select(resources.c.id)))
                for gone in self._pool.ids() - present:
                    self._pool.remove(gone)
            self._version = version
            return self._pool
