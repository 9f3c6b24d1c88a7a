"""The initiative repository: initiatives with their history, reference numbers, remembered receipts."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic_core import to_jsonable_python
from sqlalchemy import String, and_, bindparam, cast, delete, func, insert, or_, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.dml import Insert

from services.intake.db.tables import (
    idempotency_keys,
    initiative_history,
    initiative_notes,
    initiatives,
    outbox,
    reference_counters,
)
from services.intake.domain import (
    ENDED_STATUSES,
    ERASED_NAME,
    OPEN_STATUSES,
    DuplicateBrief,
    DuplicateCandidate,
    Initiative,
    Note,
    Originator,
    Receipt,
    Status,
    StatusChange,
)
from shared.db import from_row, to_row, upsert
from shared.errors import NotFound
from shared.taxonomy import OrganisationType, Theme


class ConcurrentUpdate(RuntimeError):
    """Someone changed the initiative between our read and our write; the caller retries."""


class ConcurrentSubmission(RuntimeError):
    """A concurrent request with the same Idempotency-Key committed first; the caller retries to find its receipt."""


class NewReferenceYear(RuntimeError):
    """The year's reference sequence did not exist yet; it does now and the caller retries (once a year)."""


# The duplicate hint reads at most this many candidates per submission, whatever the table's size.
TRIGRAM_CANDIDATES = 50  # PostgreSQL: the titles most alike by trigrams, at least TRIGRAM_THRESHOLD alike
TRIGRAM_THRESHOLD = 0.5
RECENT_CANDIDATES = 500  # SQLite: the most recent open initiatives
SAME_ORGANISATION_CANDIDATES = 20
UNDEFINED_TABLE = "42P01"


REFERENCE_BLOCK = 20
"""PostgreSQL: reference numbers a process takes from the year's sequence at once (one round trip per block,
not per submission); those a process had not handed out when it stops are gaps, as a rolled-back one is."""


class ReferenceNumbers:
    """The process's reference numbers not handed out yet, per year: a block taken from the year's sequence in
    one statement, then one number per submission from memory. Unique across processes (each block comes from
    the one sequence); in order within a process, interleaved between replicas."""

    def __init__(self, block: int = REFERENCE_BLOCK) -> None:
        self.block = block
        self._free: dict[int, list[int]] = {}
        self._refill = asyncio.Lock()

    async def next(self, session: AsyncSession, year: int) -> int:
        async with self._refill:  # a refill is one round trip; the others wait for it rather than take a block too
            free = self._free.setdefault(year, [])
            if not free:
                taken = await session.execute(
                    text("SELECT nextval(CAST(:sequence AS regclass)) FROM generate_series(1, :n)"),
                    {"sequence": f"initiative_reference_{int(year)}", "n": self.block},
                )
                free.extend(sorted((int(n) for n in taken.scalars()), reverse=True))
            return free.pop()


@dataclass(frozen=True)
class Filters:
    statuses: Sequence[Status] = ()
    theme: Theme | None = None
    organisation_type: OrganisationType | None = None
    submitted_from: datetime | None = None
    submitted_to: datetime | None = None
    text: str | None = None
    lead: str | None = None  # a coordinator's email or subject
    unassigned: bool = False  # only those without a lead


SORTABLE = {
    "submitted_at": initiatives.c.submitted_at,
    "reference": initiatives.c.reference,
    "title": initiatives.c.title,
    "status": initiatives.c.status,
}
SEARCHED = (
    initiatives.c.title,
    initiatives.c.summary,
    initiatives.c.description,
    initiatives.c.organisation_name,
    initiatives.c.reference,
)


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
    if filters.unassigned:
        clauses.append(initiatives.c.lead.is_(None))
    elif filters.lead is not None:
        clauses.append(func.lower(initiatives.c.lead) == filters.lead.strip().lower())
    if filters.text:
        pattern = f"%{_like_escape(filters.text.strip())}%"
        clauses.append(or_(*(column.ilike(pattern, escape="\\") for column in SEARCHED)))
    return clauses


class InitiativeRepository:
    def __init__(self, session: AsyncSession, references: ReferenceNumbers | None = None) -> None:
        self._session = session
        self._references = references or ReferenceNumbers(block=1)
        self._loaded: dict[uuid.UUID, tuple[int, int, int]] = {}  # id -> (version, history, notes) as read

    async def next_reference_number(self, year: int) -> int:
        """The next number of `year`. PostgreSQL: from the year's sequence, which no transaction waits on
        (a rolled-back submission leaves a gap); SQLite: a counter row in this transaction."""
        if self._session.get_bind().dialect.name != "postgresql":
            statement = upsert(
                self._session,
                reference_counters,
                {"year": year, "last_number": 1},
                key=["year"],
                update={"last_number": reference_counters.c.last_number + 1},
            ).returning(reference_counters.c.last_number)
            return int((await self._session.execute(statement)).scalar_one())
        try:
            return await self._references.next(self._session, year)
        except DBAPIError as exc:
            if _sqlstate(exc) != UNDEFINED_TABLE:
                raise
        await self._create_reference_sequence(year)
        raise NewReferenceYear(f"reference numbers of {year} begin")

    async def _create_reference_sequence(self, year: int) -> None:
        # Outside the (now aborted) transaction; a concurrent first submission of the year may win the race.
        engine = self._session.bind
        assert isinstance(engine, AsyncEngine)
        async with engine.connect() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            with contextlib.suppress(IntegrityError):  # created by a concurrent one meanwhile
                await autocommit.execute(text(f"CREATE SEQUENCE IF NOT EXISTS initiative_reference_{int(year)}"))

    async def add(
        self,
        initiative: Initiative,
        event_row: Mapping[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
        fingerprint: str = "",
    ) -> None:
        """The initiative with its history and notes, `event_row` (UnitOfWork.outbox_row) in the outbox, and
        under `idempotency_key` its receipt with the request's `fingerprint`; on PostgreSQL in one statement, a
        chain of INSERTs as data-modifying CTEs (one round trip where there were five), which stores all of
        them or none. The statement is built once per shape (rows of history and notes, the columns given) and
        executed with the values as parameters, on the transaction's connection: neither a statement nor its
        cache key is made anew per submission. Raises ConcurrentSubmission when a concurrent request with the
        same key got there first (and then nothing is stored)."""
        rows = [
            (initiatives, {**_to_row(initiative), "version": 1}),
            *((initiative_history, to_row(c, initiative_history, initiative_id=initiative.id))
              for c in initiative.history),
            *((initiative_notes, to_row(n, initiative_notes, initiative_id=initiative.id)) for n in initiative.notes),
            *(((outbox, event_row),) if event_row is not None else ()),
            *(((idempotency_keys, _receipt_row(idempotency_key, fingerprint, initiative.receipt)),)
              if idempotency_key is not None else ()),
        ]  # fmt: skip
        connection = await self._session.connection()
        try:
            if connection.dialect.name == "postgresql":
                shape = tuple((table.name, tuple(row)) for table, row in rows)
                parameters = {f"r{n}_{name}": value for n, (_, row) in enumerate(rows) for name, value in row.items()}
                await connection.execute(_insert_chain(shape), parameters)
            else:
                for table, row in rows:
                    await connection.execute(_INSERTS[table.name], row)
        except IntegrityError as exc:
            if idempotency_key is not None and _violated_table(exc) == idempotency_keys.name:
                concurrent = f"Idempotency-Key {idempotency_key!r} was used by a concurrent request"
                raise ConcurrentSubmission(concurrent) from None
            raise
        self._loaded[initiative.id] = (1, len(initiative.history), len(initiative.notes))

    async def get(self, initiative_id: uuid.UUID, *, for_update: bool = False) -> Initiative:
        query = select(initiatives).where(initiatives.c.id == initiative_id)
        if for_update:
            query = query.with_for_update()
        row = (await self._session.execute(query)).one_or_none()
        if row is None:
            raise NotFound("initiative", initiative_id)
        history = await self._session.execute(
            select(initiative_history)
            .where(initiative_history.c.initiative_id == initiative_id)
            .order_by(initiative_history.c.id)
        )
        notes = await self._session.execute(
            select(initiative_notes)
            .where(initiative_notes.c.initiative_id == initiative_id)
            .order_by(initiative_notes.c.id)
        )
        initiative = _from_row(
            row._asdict(),
            [from_row(StatusChange, h._asdict()) for h in history],
            [from_row(Note, n._asdict()) for n in notes],
        )
        self._loaded[initiative_id] = (row.version, len(initiative.history), len(initiative.notes))
        return initiative

    async def save(self, initiative: Initiative) -> None:
        version, seen_history, seen_notes = self._loaded[initiative.id]
        result = await self._session.execute(
            update(initiatives)
            .where(and_(initiatives.c.id == initiative.id, initiatives.c.version == version))
            .values(**_to_row(initiative), version=version + 1)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise ConcurrentUpdate(f"initiative {initiative.id} changed meanwhile")
        await self._insert_history(initiative.id, initiative.history[seen_history:])
        await self._insert_notes(initiative.id, initiative.notes[seen_notes:])
        self._loaded[initiative.id] = (version + 1, len(initiative.history), len(initiative.notes))

    async def duplicate_candidates(
        self, initiative_id: uuid.UUID
    ) -> tuple[DuplicateCandidate, list[DuplicateCandidate]]:
        """The initiative as a candidate itself, and the open initiatives submitted before it that may be the
        same idea: a bounded list whatever the table's size (see TRIGRAM_CANDIDATES, RECENT_CANDIDATES)."""
        columns = (initiatives.c.id, initiatives.c.title, initiatives.c.summary, initiatives.c.organisation_number)
        row = (
            await self._session.execute(
                select(*columns, initiatives.c.submitted_at).where(initiatives.c.id == initiative_id)
            )
        ).one_or_none()
        if row is None:
            raise NotFound("initiative", initiative_id)
        earlier_open = (
            initiatives.c.status.in_([s.value for s in OPEN_STATUSES]),
            initiatives.c.id != initiative_id,
            initiatives.c.submitted_at <= row.submitted_at,
        )
        title = func.lower(initiatives.c.title)
        if self._session.get_bind().dialect.name == "postgresql":
            # Above pg_trgm's default 0.3 the index itself prunes far more rows (4x less work on 100k similar
            # titles in bench/); the hint wants near-identical titles, which score well above it.
            threshold = func.set_config("pg_trgm.similarity_threshold", str(TRIGRAM_THRESHOLD), True)
            await self._session.execute(select(threshold))
            alike = (
                select(*columns)
                .where(*earlier_open, title.op("%")(row.title.lower()))
                .order_by(func.similarity(title, row.title.lower()).desc())
            )
            alike = alike.limit(TRIGRAM_CANDIDATES)
        else:
            alike = select(*columns).where(*earlier_open).order_by(initiatives.c.submitted_at.desc())
            alike = alike.limit(RECENT_CANDIDATES)
        found = {r.id: from_row(DuplicateCandidate, r._asdict()) for r in await self._session.execute(alike)}
        if row.organisation_number is not None:
            same = select(*columns).where(*earlier_open, initiatives.c.organisation_number == row.organisation_number)
            for r in await self._session.execute(same.limit(SAME_ORGANISATION_CANDIDATES)):
                found.setdefault(r.id, from_row(DuplicateCandidate, r._asdict()))
        itself = DuplicateCandidate(row.id, row.title, row.summary, row.organisation_number)
        return itself, list(found.values())

    async def id_of_reference(self, reference: str) -> uuid.UUID | None:
        """The initiative numbered `reference` (MM-YYYY-NNNN), if any."""
        found = await self._session.execute(select(initiatives.c.id).where(initiatives.c.reference == reference))
        return found.scalar_one_or_none()

    async def briefs(self, ids: Sequence[uuid.UUID]) -> list[DuplicateBrief]:
        if not ids:
            return []
        rows = await self._session.execute(
            select(initiatives.c.id, initiatives.c.reference, initiatives.c.title, initiatives.c.status).where(
                initiatives.c.id.in_(ids)
            )
        )
        found = {r.id: from_row(DuplicateBrief, r._asdict()) for r in rows}
        return [found[i] for i in ids if i in found]  # in the hint's order: the most alike first

    async def search(
        self, filters: Filters, *, sort: str = "-submitted_at", limit: int = 50, offset: int = 0
    ) -> tuple[list[Initiative], int]:
        clauses = _where(filters)
        total = await self._session.scalar(select(func.count()).select_from(initiatives).where(*clauses))
        column = SORTABLE[sort.removeprefix("-")]
        order = column.desc() if sort.startswith("-") else column.asc()
        rows = await self._session.execute(
            select(initiatives).where(*clauses).order_by(order, initiatives.c.id).limit(limit).offset(offset)
        )
        return [_from_row(row._asdict(), [], []) for row in rows], int(total or 0)

    async def remembered_receipt(self, key: str) -> tuple[str, Receipt] | None:
        """The request fingerprint and the receipt given for the Idempotency-Key, if it was used before."""
        connection = await self._session.connection()  # statements built once: each portal submission asks
        row = (await connection.execute(_REMEMBERED, {"key": key})).one_or_none()
        return None if row is None else (row.fingerprint, from_row(Receipt, row.response))

    async def forget_receipts_before(self, before: datetime) -> int:
        """Drop the Idempotency-Keys remembered before `before` (their receipts show the originator's contact)."""
        result = await self._session.execute(delete(idempotency_keys).where(idempotency_keys.c.created_at < before))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def blank_stored_texts(self, initiative_id: uuid.UUID, erased: Sequence[str]) -> None:
        """The originator's erased contact details out of the history's and the staff's notes as stored
        (the aggregate blanked its copy), and out of reach through its Idempotency-Keys: their fingerprint
        (a digest of the request with the contact) goes, so a retry with such a key is refused, not a second
        initiative."""
        for value in sorted(erased, key=len, reverse=True):
            for table, column in (
                (initiative_history, initiative_history.c.note),
                (initiative_notes, initiative_notes.c.text),
            ):
                await self._session.execute(
                    update(table)
                    .where(table.c.initiative_id == initiative_id, column.contains(value, autoescape=True))
                    .values({column.name: func.replace(column, value, ERASED_NAME)})
                )
        await self._session.execute(
            update(idempotency_keys).where(idempotency_keys.c.initiative_id == initiative_id).values(fingerprint="")
        )

    async def ended_with_contact_before(self, moment: datetime, limit: int) -> list[uuid.UUID]:
        """Ended initiatives (rejected, withdrawn, closed) untouched since before `moment` that still keep
        their originator's contact, oldest first."""
        query = (
            select(initiatives.c.id)
            .where(
                initiatives.c.status.in_([s.value for s in ENDED_STATUSES]),
                initiatives.c.updated_at < moment,
                initiatives.c.contact_name != ERASED_NAME,
            )
            .order_by(initiatives.c.updated_at)
            .limit(limit)
        )
        return list(await self._session.scalars(query))

    async def _insert_history(self, initiative_id: uuid.UUID, changes: Sequence[StatusChange]) -> None:
        if changes:
            await self._session.execute(
                insert(initiative_history),
                [to_row(change, initiative_history, initiative_id=initiative_id) for change in changes],
            )

    async def _insert_notes(self, initiative_id: uuid.UUID, notes: Sequence[Note]) -> None:
        if notes:
            await self._session.execute(
                insert(initiative_notes),
                [to_row(note, initiative_notes, initiative_id=initiative_id) for note in notes],
            )


_TABLES = {table.name: table for table in (initiatives, initiative_history, initiative_notes, outbox, idempotency_keys)}
_INSERTS = {name: insert(table) for name, table in _TABLES.items()}
_REMEMBERED = select(idempotency_keys.c.fingerprint, idempotency_keys.c.response).where(
    idempotency_keys.c.key == bindparam("key")
)


@functools.cache
def _insert_chain(shape: tuple[tuple[str, tuple[str, ...]], ...]) -> Insert:
    """PostgreSQL: one INSERT per (table, columns) of `shape`, the first ones as CTEs of the last, the value of
    column `c` of row `n` the parameter `r<n>_<c>`. Submissions come in a handful of shapes (with or without a
    phone number, ...), so the cache stays small."""
    statements = [
        insert(table).values({name: bindparam(f"r{n}_{name}", type_=table.c[name].type) for name in columns})
        for n, (table, columns) in enumerate((_TABLES[name], columns) for name, columns in shape)
    ]
    *earlier, last = statements
    return last.add_cte(*(statement.cte(f"new_row_{n}") for n, statement in enumerate(earlier)))


def _receipt_row(key: str, fingerprint: str, receipt: Receipt) -> dict[str, Any]:
    return {
        "key": key,
        "fingerprint": fingerprint,
        "initiative_id": receipt.id,
        "response": to_jsonable_python(receipt),
        "created_at": receipt.submitted_at,
    }


def _violated_table(exc: IntegrityError) -> str | None:
    """The table whose constraint the statement broke: asyncpg names it; SQLite's message does
    ("UNIQUE constraint failed: idempotency_keys.key")."""
    for error in (exc.orig, getattr(exc.orig, "__cause__", None)):
        if table := getattr(error, "table_name", None):
            return str(table)
    found = re.search(r"constraint failed: (\w+)\.", str(exc.orig))
    return found.group(1) if found else None


def _sqlstate(exc: DBAPIError) -> str | None:
    """The SQLSTATE behind SQLAlchemy's wrapper (asyncpg's error is the adapter's cause)."""
    for error in (exc.orig, getattr(exc.orig, "__cause__", None)):
        code = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
        if code:
            return str(code)
    return None


def _to_row(initiative: Initiative) -> dict[str, Any]:
    return to_row(
        initiative,
        initiatives,
        **to_row(initiative.originator, initiatives),
        updated_at=initiative.updated_at or initiative.submitted_at,
    )


def _from_row(row: Mapping[str, Any], history: list[StatusChange], notes: list[Note]) -> Initiative:
    return from_row(Initiative, row, originator=from_row(Originator, row), history=history, notes=notes)
