"""The resource repository: a Resource is one `resources` row plus its listed values in `resource_attributes`."""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, delete, exists, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement

from services.resources.db.tables import outbox, resource_attributes, resources
from services.resources.domain import Profile, Resource, SearchFilters, Status
from shared.db import as_aware, from_row, mark_erasure, to_row
from shared.errors import NotFound

# The profile's list-valued fields and the `kind` each is stored under in resource_attributes.
LISTED = {"competences": "competence", "tags": "tag", "themes": "theme", "languages": "language"}

Attributes = dict[tuple[uuid.UUID, str], list[str]]
"""(resource id, kind) -> the values, in their order."""


class ResourceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, resource: Resource) -> None:
        await self._session.execute(insert(resources).values(**_to_row(resource)))
        await self._write_attributes(resource)

    async def save(self, resource: Resource) -> None:
        await self._session.execute(update(resources).where(resources.c.id == resource.id).values(**_to_row(resource)))
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
        where = _where(filters)
        total = await self._session.scalar(select(func.count()).select_from(resources).where(*where))
        query = (
            select(resources)
            .where(*where)
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
        mark_erasure(self._session)
        await self._session.execute(delete(resource_attributes).where(resource_attributes.c.resource_id == resource_id))
        await self._session.execute(delete(resources).where(resources.c.id == resource_id))
        await self._session.execute(delete(outbox).where(outbox.c.key == str(resource_id)))

    async def _write_attributes(self, resource: Resource) -> None:
        rows = [
            {"resource_id": resource.id, "kind": kind, "position": position, "value": str(value)}
            for field, kind in LISTED.items()
            for position, value in enumerate(getattr(resource.profile, field))
        ]
        await self._session.execute(insert(resource_attributes), rows)

    async def _load(self, query: Select[Any]) -> list[Resource]:
        rows = (await self._session.execute(query)).all()
        if not rows:
            return []
        attributes: Attributes = defaultdict(list)
        a = resource_attributes
        for attribute in await self._session.execute(
            select(a.c.resource_id, a.c.kind, a.c.value)
            .where(a.c.resource_id.in_([row.id for row in rows]))
            .order_by(a.c.resource_id, a.c.kind, a.c.position)
        ):
            attributes[(attribute.resource_id, attribute.kind)].append(attribute.value)
        return [_from_row(row, attributes) for row in rows]


def _to_row(resource: Resource) -> dict[str, Any]:
    """The `resources` row: the profile's single values and the resource's own."""
    return {**to_row(resource.profile, resources), **to_row(resource, resources)}


def _from_row(row: Row[Any], attributes: Attributes) -> Resource:
    """The resource and its profile, both from the one `resources` row and the profile's listed values."""
    columns: dict[str, Any] = dict(row._mapping)
    listed = {field: attributes.get((row.id, kind), []) for field, kind in LISTED.items()}
    return from_row(Resource, columns, profile=from_row(Profile, columns, **listed))


def _has_attribute(kind: str, values: Sequence[str]) -> ColumnElement[bool]:
    a = resource_attributes
    return exists().where(a.c.resource_id == resources.c.id, a.c.kind == kind, a.c.value.in_(values))


def _where(filters: SearchFilters) -> list[ColumnElement[bool]]:
    r, a = resources, resource_attributes
    where: list[ColumnElement[bool]] = []
    if filters.statuses:
        where.append(r.c.status.in_([s.value for s in filters.statuses]))
    if filters.organisation_types:
        where.append(r.c.organisation_type.in_([t.value for t in filters.organisation_types]))
    if filters.min_capacity is not None:
        where.append(r.c.capacity >= filters.min_capacity)
    for field in ("competences", "themes", "languages"):
        if values := [str(value) for value in getattr(filters, field)]:
            where.append(_has_attribute(LISTED[field], values))
    if filters.text:
        needle = filters.text.lower()
        where.append(
            or_(
                *(
                    func.lower(column).contains(needle, autoescape=True)
                    for column in (r.c.name, r.c.email, r.c.organisation_name, r.c.role_title)
                ),
                exists().where(
                    a.c.resource_id == r.c.id,
                    a.c.kind == LISTED["tags"],
                    func.lower(a.c.value).contains(needle, autoescape=True),
                ),
            )
        )
    return where
