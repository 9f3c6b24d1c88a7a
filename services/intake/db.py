"""Intake's tables, the initiative repository and the unit of work."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    Uuid,
    and_,
    cast,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement

from services.intake.domain import (
    OPEN_STATUSES,
    Action,
    DuplicateCandidate,
    Initiative,
    Originator,
    Status,
    StatusChange,
)
from shared.db import BigId, Timestamp, UnitOfWork, as_aware
from shared.errors import NotFound
from shared.inbox import define_processed_events_table
from shared.outbox import define_outbox_table
from shared.taxonomy import Competence, Language, OrganisationType, Seeking, Theme

metadata = MetaData()
outbox = define_outbox_table(metadata)
processed_events = define_processed_events_table(metadata)

initiatives = Table(
    "initiatives",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("reference", String(20), nullable=False, unique=True),
    Column("status", String(20), nullable=False, index=True),
    Column("title", String(200), nullable=False),
    Column("summary", String(500), nullable=False),
    Column("description", Text, nullable=False),
    Column("organisation_name", String(200), nullable=False),
    Column("organisation_type", String(40), nullable=False),
    Column("organisation_number", String(20), nullable=True, index=True),
    Column("contact_name", String(200), nullable=False),
    Column("contact_email", String(320), nullable=False),
    Column("contact_phone", String(20), nullable=True),
    Column("themes", JSON, nullable=False),
    Column("seeking", JSON, nullable=False),
    Column("competences_needed", JSON, nullable=False),
    Column("group_size_min", Integer, nullable=False),
    Column("group_size_max", Integer, nullable=False),
    Column("language", String(2), nullable=False),
    Column("possible_duplicates", JSON, nullable=False),
    Column("submitted_at", Timestamp(), nullable=False, index=True),
    Column("updated_at", Timestamp(), nullable=False),
    Column("version", Integer, nullable=False),
)

initiative_history = Table(
    "initiative_history",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("initiative_id", Uuid, ForeignKey("initiatives.id", ondelete="CASCADE"), nullable=False),
    Column("at", Timestamp(), nullable=False),
    Column("actor", String(320), nullable=False),
    Column("action", String(30), nullable=False),
    Column("from_status", String(20), nullable=True),
    Column("to_status", String(20), nullable=False),
    Column("note", Text, nullable=True),
)
Index("ix_initiative_history_initiative", initiative_history.c.initiative_id, initiative_history.c.id)

# The last reference number handed out per year; numbers are never reused.
reference_counters = Table(
    "reference_counters",
    metadata,
    Column("year", Integer, primary_key=True),
    Column("last_number", Integer, nullable=False),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("initiative_id", Uuid, nullable=False),
    Column("response", JSON, nullable=False),
    Column("created_at", Timestamp(), nullable=False),
)


class ConcurrentUpdate(RuntimeError):
    """Someone changed the initiative between our read and our write; the caller retries."""


@dataclass(frozen=True)
class Filters:
    statuses: Sequence[Status] = ()
    theme: Theme | None = None
    organisation_type: OrganisationType | None = None
    submitted_from: datetime | None = None
    submitted_to: datetime | None = None
    text: str | None = None


SORTABLE = {
    "submitted_at": initiatives.c.submitted_at,
    "reference": initiatives.c.reference,
    "title": initiatives.c.title,
    "status": initiatives.c.status,
}


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _where(filters: Filters) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = []
    if filters.statuses:
        clauses.append(initiatives.c.status.in_([s.value for s in filters.statuses]))
    if filters.theme is not None:
        clauses.append(cast(initiatives.c.themes, String).like(f'%"{filters.theme.value}"%'))
    if filters.organisation_type is not None:
        clauses.append(initiatives.c.organisation_type == filters.organisation_type.value)
    if filters.submitted_from is not None:
        clauses.append(initiatives.c.submitted_at >= filters.submitted_from)
    if filters.submitted_to is not None:
        clauses.append(initiatives.c.submitted_at <= filters.submitted_to)
    if filters.text:
        pattern = f"%{_like_escape(filters.text.strip())}%"
        clauses.append(
            or_(
                *(
                    column.ilike(pattern, escape="\\")
                    for column in (
                        initiatives.c.title,
                        initiatives.c.summary,
                        initiatives.c.description,
                        initiatives.c.organisation_name,
                        initiatives.c.reference,
                    )
                )
            )
        )
    return clauses


class InitiativeRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._loaded: dict[uuid.UUID, tuple[int, int]] = {}  # id -> (version, history length) as read

    async def next_reference_number(self, year: int) -> int:
        """Take the next number of `year` inside the current transaction (atomic on both databases)."""
        dialect = postgresql if self._session.get_bind().dialect.name == "postgresql" else sqlite
        statement = dialect.insert(reference_counters).values(year=year, last_number=1)
        statement = statement.on_conflict_do_update(
            index_elements=[reference_counters.c.year],
            set_={"last_number": reference_counters.c.last_number + 1},
        ).returning(reference_counters.c.last_number)
        return int((await self._session.execute(statement)).scalar_one())

    async def add(self, initiative: Initiative) -> None:
        await self._session.execute(insert(initiatives).values(**_row(initiative), version=1))
        await self._insert_history(initiative.id, initiative.history)
        self._loaded[initiative.id] = (1, len(initiative.history))

    async def get(self, initiative_id: uuid.UUID, *, for_update: bool = False) -> Initiative:
        query = select(initiatives).where(initiatives.c.id == initiative_id)
        if for_update:
            query = query.with_for_update()
        row = (await self._session.execute(query)).mappings().one_or_none()
        if row is None:
            raise NotFound("initiative", initiative_id)
        history = (
            await self._session.execute(
                select(initiative_history)
                .where(initiative_history.c.initiative_id == initiative_id)
                .order_by(initiative_history.c.id)
            )
        ).mappings()
        initiative = _initiative(row, [_change(h) for h in history])
        self._loaded[initiative_id] = (row["version"], len(initiative.history))
        return initiative

    async def save(self, initiative: Initiative) -> None:
        version, seen_history = self._loaded[initiative.id]
        result = await self._session.execute(
            update(initiatives)
            .where(and_(initiatives.c.id == initiative.id, initiatives.c.version == version))
            .values(**_row(initiative), version=version + 1)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise ConcurrentUpdate(f"initiative {initiative.id} changed meanwhile")
        await self._insert_history(initiative.id, initiative.history[seen_history:])
        self._loaded[initiative.id] = (version + 1, len(initiative.history))

    async def open_candidates(self) -> list[DuplicateCandidate]:
        rows = await self._session.execute(
            select(
                initiatives.c.id, initiatives.c.title, initiatives.c.summary, initiatives.c.organisation_number
            ).where(initiatives.c.status.in_([s.value for s in OPEN_STATUSES]))
        )
        return [DuplicateCandidate(r.id, r.title, r.summary, r.organisation_number) for r in rows]

    async def briefs(self, ids: Sequence[uuid.UUID]) -> list[dict[str, Any]]:
        if not ids:
            return []
        rows = await self._session.execute(
            select(initiatives.c.id, initiatives.c.reference, initiatives.c.title, initiatives.c.status).where(
                initiatives.c.id.in_(ids)
            )
        )
        return [dict(r._mapping) for r in rows]

    async def search(
        self, filters: Filters, *, sort: str = "-submitted_at", limit: int = 50, offset: int = 0
    ) -> tuple[list[Initiative], int]:
        clauses = _where(filters)
        total = await self._session.scalar(select(func.count()).select_from(initiatives).where(*clauses))
        column = SORTABLE[sort.removeprefix("-")]
        order = column.desc() if sort.startswith("-") else column.asc()
        rows = (
            await self._session.execute(
                select(initiatives).where(*clauses).order_by(order, initiatives.c.id).limit(limit).offset(offset)
            )
        ).mappings()
        return [_initiative(row, []) for row in rows], int(total or 0)

    async def remembered_response(self, key: str) -> tuple[str, dict[str, Any]] | None:
        row = (
            await self._session.execute(
                select(idempotency_keys.c.fingerprint, idempotency_keys.c.response).where(idempotency_keys.c.key == key)
            )
        ).one_or_none()
        return None if row is None else (row.fingerprint, row.response)

    async def remember_response(
        self, key: str, fingerprint: str, initiative_id: uuid.UUID, response: dict[str, Any], at: datetime
    ) -> None:
        await self._session.execute(
            insert(idempotency_keys).values(
                key=key, fingerprint=fingerprint, initiative_id=initiative_id, response=response, created_at=at
            )
        )

    async def _insert_history(self, initiative_id: uuid.UUID, changes: Sequence[StatusChange]) -> None:
        if changes:
            await self._session.execute(
                insert(initiative_history),
                [
                    {
                        "initiative_id": initiative_id,
                        "at": c.at,
                        "actor": c.actor,
                        "action": c.action.value,
                        "from_status": c.from_status.value if c.from_status else None,
                        "to_status": c.to_status.value,
                        "note": c.note,
                    }
                    for c in changes
                ],
            )


def _row(initiative: Initiative) -> dict[str, Any]:
    o = initiative.originator
    return {
        "id": initiative.id,
        "reference": initiative.reference,
        "status": initiative.status.value,
        "title": initiative.title,
        "summary": initiative.summary,
        "description": initiative.description,
        "organisation_name": o.organisation_name,
        "organisation_type": o.organisation_type.value,
        "organisation_number": o.organisation_number,
        "contact_name": o.contact_name,
        "contact_email": o.contact_email,
        "contact_phone": o.contact_phone,
        "themes": [t.value for t in initiative.themes],
        "seeking": [s.value for s in initiative.seeking],
        "competences_needed": [c.value for c in initiative.competences_needed],
        "group_size_min": initiative.group_size_min,
        "group_size_max": initiative.group_size_max,
        "language": initiative.language.value,
        "possible_duplicates": [str(i) for i in initiative.possible_duplicates],
        "submitted_at": initiative.submitted_at,
        "updated_at": initiative.updated_at or initiative.submitted_at,
    }


def _initiative(row: Any, history: list[StatusChange]) -> Initiative:
    return Initiative(
        id=row["id"],
        reference=row["reference"],
        title=row["title"],
        summary=row["summary"],
        description=row["description"],
        originator=Originator(
            organisation_name=row["organisation_name"],
            organisation_type=OrganisationType(row["organisation_type"]),
            organisation_number=row["organisation_number"],
            contact_name=row["contact_name"],
            contact_email=row["contact_email"],
            contact_phone=row["contact_phone"],
        ),
        themes=tuple(Theme(t) for t in row["themes"]),
        seeking=tuple(Seeking(s) for s in row["seeking"]),
        competences_needed=tuple(Competence(c) for c in row["competences_needed"]),
        group_size_min=row["group_size_min"],
        group_size_max=row["group_size_max"],
        language=Language(row["language"]),
        submitted_at=as_aware(row["submitted_at"]),
        status=Status(row["status"]),
        updated_at=as_aware(row["updated_at"]),
        possible_duplicates=tuple(uuid.UUID(i) for i in row["possible_duplicates"]),
        history=history,
    )


def _change(row: Any) -> StatusChange:
    return StatusChange(
        at=as_aware(row["at"]),
        actor=row["actor"],
        action=Action(row["action"]),
        from_status=Status(row["from_status"]) if row["from_status"] else None,
        to_status=Status(row["to_status"]),
        note=row["note"],
    )


class IntakeUnitOfWork(UnitOfWork):
    initiatives: InitiativeRepository

    async def __aenter__(self) -> IntakeUnitOfWork:
        await super().__aenter__()
        self.initiatives = InitiativeRepository(self.session)
        return self
