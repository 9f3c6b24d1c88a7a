"""What coordinators and originators read: one initiative, the filtered list, its export, the detail."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from services.intake.db import Filters, IntakeUnitOfWork
from services.intake.domain import DuplicateBrief, Initiative, likely_duplicates


@dataclass(frozen=True)
class GetInitiative:
    """One initiative, e.g. for its originator behind the private link."""

    initiative_id: uuid.UUID


@dataclass(frozen=True)
class FindInitiatives:
    filters: Filters
    sort: str = "-submitted_at"
    limit: int = 50
    offset: int = 0


@dataclass(frozen=True)
class ExportInitiatives:
    filters: Filters


@dataclass(frozen=True)
class GetInitiativeDetails:
    initiative_id: uuid.UUID


@dataclass(frozen=True)
class Found:
    initiatives: list[Initiative]
    total: int


@dataclass(frozen=True)
class Export:
    columns: tuple[str, ...]
    rows: list[list[object]]


@dataclass(frozen=True)
class InitiativeDetails:
    initiative: Initiative
    possible_duplicates: list[DuplicateBrief]


async def get_initiative(query: GetInitiative, uow: IntakeUnitOfWork) -> Initiative:
    async with uow:
        return await uow.initiatives.get(query.initiative_id)


async def find_initiatives(query: FindInitiatives, uow: IntakeUnitOfWork) -> Found:
    async with uow:
        found, total = await uow.initiatives.search(
            query.filters, sort=query.sort, limit=query.limit, offset=query.offset
        )
    return Found(found, total)


EXPORT_COLUMNS = (
    "reference", "status", "title", "organisation_name", "organisation_type", "organisation_number",
    "contact_name", "contact_email", "themes", "seeking", "competences_needed", "submitted_at", "lead", "channel",
)  # fmt: skip


async def export_initiatives(query: ExportInitiatives, uow: IntakeUnitOfWork) -> Export:
    """The filtered list, newest first, one row per initiative with its originator's facts."""
    async with uow:
        found, _total = await uow.initiatives.search(query.filters, sort="-submitted_at", limit=100_000)
    rows = []
    for initiative in found:
        facts = {**vars(initiative.originator), **vars(initiative)}
        rows.append([_cell(facts[column]) for column in EXPORT_COLUMNS])
    return Export(EXPORT_COLUMNS, rows)


def _cell(value: object) -> object:
    if isinstance(value, tuple):
        return [_cell(item) for item in value]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    return "" if value is None else value


async def get_initiative_details(query: GetInitiativeDetails, uow: IntakeUnitOfWork) -> InitiativeDetails:
    """The initiative with the briefs of the open initiatives submitted before it that look like the same idea.

    The hint is found here, when a coordinator reviews it, not when the originator submits: the portal's
    submission pays nothing for it, and the candidates are a bounded list whatever the table's size (a
    trigram index on PostgreSQL), of which the best few are kept."""
    async with uow:
        initiative = await uow.initiatives.get(query.initiative_id)
        itself, candidates = await uow.initiatives.duplicate_candidates(query.initiative_id)
        found = likely_duplicates(itself.title, itself.summary, itself.organisation_number, candidates)
        duplicates = await uow.initiatives.briefs(found)
    return InitiativeDetails(initiative, duplicates)
