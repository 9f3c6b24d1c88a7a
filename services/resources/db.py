"""Resources's tables, the resource repository and the unit of work."""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Self

from sqlalchemy import (
    Column,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Row,
    Select,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement

from services.resources.domain import Profile, Resource, Status
from shared.db import Timestamp, UnitOfWork, as_aware
from shared.errors import NotFound
from shared.inbox import define_processed_events_table
from shared.outbox import define_outbox_table
from shared.taxonomy import Competence, Language, OrganisationType, Theme

metadata = MetaData()
outbox = define_outbox_table(metadata)
processed_events = define_processed_events_table(metadata)

resources = Table(
    "resources",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("status", String(30), nullable=False),
    Column("name", String(200), nullable=False),
    Column("email", String(254), nullable=False),
    Column("phone", String(20), nullable=True),
    Column("organisation_name", String(200), nullable=False),
    Column("organisation_type", String(40), nullable=False),
    Column("organisation_number", String(20), nullable=True),
    Column("role_title", String(200), nullable=False),
    Column("sector", String(1), nullable=True),
    Column("capacity", Integer, nullable=False),
    Column("hours_per_month", Integer, nullable=True),
    Column("language", String(2), nullable=False),
    Column("registered_by", String(254), nullable=False),
    Column("confirmation_digest", String(64), nullable=True),
    Column("confirmation_expires_at", Timestamp(), nullable=True),
    Column("confirmed_at", Timestamp(), nullable=True),
    Column("withdrawal_reason", Text, nullable=True),
    Column("created_at", Timestamp(), nullable=False),
    Column("updated_at", Timestamp(), nullable=False),
    UniqueConstraint("email", name="uq_resources_email"),
)
Index("ix_resources_status", resources.c.status)

# The list-valued parts of a profile, one row per value, so that search filters stay plain SQL.
resource_attributes = Table(
    "resource_attributes",
    metadata,
    Column("resource_id", Uuid, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("position", Integer, nullable=False),
    Column("value", String(100), nullable=False),
    PrimaryKeyConstraint("resource_id", "kind", "position", name="pk_resource_attributes"),
    ForeignKeyConstraint(["resource_id"], ["resources.id"], ondelete="CASCADE", name="fk_resource_attributes_resource"),
)
Index("ix_resource_attributes_kind_value", resource_attributes.c.kind, resource_attributes.c.value)

COMPETENCE, TAG, THEME, LANGUAGE = "competence", "tag", "theme", "language"


@dataclass(frozen=True)
class SearchFilters:
    """Values within one filter are alternatives (any of them); different filters must all hold."""

    competences: tuple[Competence, ...] = ()
    themes: tuple[Theme, ...] = ()
    organisation_types: tuple[OrganisationType, ...] = ()
    languages: tuple[str, ...] = ()
    statuses: tuple[Status, ...] = ()
    min_capacity: int | None = None
    text: str | None = None


def _has_attribute(kind: str, values: Sequence[str]) -> ColumnElement[bool]:
    a = resource_attributes
    return exists().where(a.c.resource_id == resources.c.id, a.c.kind == kind, a.c.value.in_(values))


def _conditions(filters: SearchFilters) -> list[ColumnElement[bool]]:
    r, a = resources, resource_attributes
    conditions: list[ColumnElement[bool]] = []
    if filters.statuses:
        conditions.append(r.c.status.in_([s.value for s in filters.statuses]))
    if filters.organisation_types:
        conditions.append(r.c.organisation_type.in_([t.value for t in filters.organisation_types]))
    if filters.min_capacity is not None:
        conditions.append(r.c.capacity >= filters.min_capacity)
    for kind, values in (
        (COMPETENCE, [c.value for c in filters.competences]),
        (THEME, [t.value for t in filters.themes]),
        (LANGUAGE, list(filters.languages)),
    ):
        if values:
            conditions.append(_has_attribute(kind, values))
    if filters.text:
        needle = filters.text.lower()
        conditions.append(
            or_(
                *(
                    func.lower(column).contains(needle, autoescape=True)
                    for column in (r.c.name, r.c.email, r.c.organisation_name, r.c.role_title)
                ),
                exists().where(
                    a.c.resource_id == r.c.id, a.c.kind == TAG, func.lower(a.c.value).contains(needle, autoescape=True)
                ),
            )
        )
    return conditions


class ResourceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, resource: Resource) -> None:
        await self._session.execute(insert(resources).values(id=resource.id, **_columns(resource)))
        await self._write_attributes(resource)

    async def save(self, resource: Resource) -> None:
        await self._session.execute(update(resources).where(resources.c.id == resource.id).values(**_columns(resource)))
        await self._session.execute(delete(resource_attributes).where(resource_attributes.c.resource_id == resource.id))
        await self._write_attributes(resource)

    async def get(self, resource_id: uuid.UUID, *, for_update: bool = False) -> Resource:
        query = select(resources).where(resources.c.id == resource_id)
        found = await self._load(query.with_for_update() if for_update else query)
        if not found:
            raise NotFound("resource", resource_id)
        return found[0]

    async def by_email(self, email: str, *, for_update: bool = False) -> Resource | None:
        query = select(resources).where(resources.c.email == email)
        found = await self._load(query.with_for_update() if for_update else query)
        return found[0] if found else None

    async def search(
        self, filters: SearchFilters, limit: int | None = None, offset: int = 0
    ) -> tuple[list[Resource], int]:
        """One page of the resources that pass the filters (by name), and how many pass in all."""
        conditions = _conditions(filters)
        total = await self._session.scalar(select(func.count()).select_from(resources).where(*conditions))
        query = (
            select(resources)
            .where(*conditions)
            .order_by(func.lower(resources.c.name), resources.c.id)
            .limit(limit)
            .offset(offset)
        )
        return await self._load(query), int(total or 0)

    async def events_about(self, resource_id: uuid.UUID) -> list[dict[str, Any]]:
        """The events still held in the outbox about this resource, as they were (or will be) sent."""
        rows = await self._session.execute(
            select(outbox.c.envelope, outbox.c.published_at)
            .where(outbox.c.key == str(resource_id))
            .order_by(outbox.c.id)
        )
        return [
            {**json.loads(row.envelope), "published_at": as_aware(row.published_at) if row.published_at else None}
            for row in rows
        ]

    async def unconfirmed_since(self, moment: datetime) -> list[uuid.UUID]:
        """Registrations still waiting for confirmation whose last link expired before `moment`."""
        rows = await self._session.scalars(
            select(resources.c.id).where(
                resources.c.status == Status.PENDING_CONFIRMATION.value,
                resources.c.confirmation_expires_at < moment,
            )
        )
        return list(rows)

    async def erase(self, resource_id: uuid.UUID) -> None:
        """Delete the person and every outbox row that carried their data, sent or not."""
        await self._session.execute(delete(resource_attributes).where(resource_attributes.c.resource_id == resource_id))
        await self._session.execute(delete(resources).where(resources.c.id == resource_id))
        await self._session.execute(delete(outbox).where(outbox.c.key == str(resource_id)))

    async def _write_attributes(self, resource: Resource) -> None:
        p = resource.profile
        rows = [
            {"resource_id": resource.id, "kind": kind, "position": position, "value": str(value)}
            for kind, values in (
                (COMPETENCE, p.competences),
                (TAG, p.tags),
                (THEME, p.themes),
                (LANGUAGE, p.languages),
            )
            for position, value in enumerate(values)
        ]
        await self._session.execute(insert(resource_attributes), rows)

    async def _load(self, query: Select[Any]) -> list[Resource]:
        rows = (await self._session.execute(query)).all()
        if not rows:
            return []
        attributes: dict[tuple[uuid.UUID, str], list[str]] = defaultdict(list)
        a = resource_attributes
        for attribute in await self._session.execute(
            select(a.c.resource_id, a.c.kind, a.c.value)
            .where(a.c.resource_id.in_([row.id for row in rows]))
            .order_by(a.c.resource_id, a.c.kind, a.c.position)
        ):
            attributes[(attribute.resource_id, attribute.kind)].append(attribute.value)
        return [_resource(row, attributes) for row in rows]


def _columns(resource: Resource) -> dict[str, Any]:
    p = resource.profile
    return {
        "status": resource.status.value,
        "name": p.name,
        "email": p.email,
        "phone": p.phone,
        "organisation_name": p.organisation_name,
        "organisation_type": p.organisation_type.value,
        "organisation_number": p.organisation_number,
        "role_title": p.role_title,
        "sector": p.sector,
        "capacity": p.capacity,
        "hours_per_month": p.hours_per_month,
        "language": p.language.value,
        "registered_by": resource.registered_by,
        "confirmation_digest": resource.confirmation_digest,
        "confirmation_expires_at": resource.confirmation_expires_at,
        "confirmed_at": resource.confirmed_at,
        "withdrawal_reason": resource.withdrawal_reason,
        "created_at": resource.created_at,
        "updated_at": resource.updated_at,
    }


def _resource(row: Row[Any], attributes: dict[tuple[uuid.UUID, str], list[str]]) -> Resource:
    def listed(kind: str) -> list[str]:
        return attributes.get((row.id, kind), [])

    profile = Profile(
        name=row.name,
        email=row.email,
        phone=row.phone,
        organisation_name=row.organisation_name,
        organisation_type=OrganisationType(row.organisation_type),
        organisation_number=row.organisation_number,
        role_title=row.role_title,
        sector=row.sector,
        competences=tuple(Competence(c) for c in listed(COMPETENCE)),
        tags=tuple(listed(TAG)),
        themes=tuple(Theme(t) for t in listed(THEME)),
        capacity=row.capacity,
        hours_per_month=row.hours_per_month,
        languages=tuple(listed(LANGUAGE)),
        language=Language(row.language),
    )
    return Resource(
        id=row.id,
        profile=profile,
        status=Status(row.status),
        registered_by=row.registered_by,
        created_at=as_aware(row.created_at),
        updated_at=as_aware(row.updated_at),
        confirmed_at=as_aware(row.confirmed_at) if row.confirmed_at else None,
        confirmation_digest=row.confirmation_digest,
        confirmation_expires_at=as_aware(row.confirmation_expires_at) if row.confirmation_expires_at else None,
        withdrawal_reason=row.withdrawal_reason,
    )


class ResourcesUnitOfWork(UnitOfWork):
    resources: ResourceRepository

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        self.resources = ResourceRepository(self.session)
        return self
