"""The initiatives projection: accepted initiatives as intake's events describe them."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.matching.db.repositories.rows import contact_of, contact_row, organisation_of, organisation_row
from services.matching.db.tables import groups, initiatives
from services.matching.domain.blockage import Blockage
from services.matching.domain.group import LIVE_GROUPS
from services.matching.domain.profiles import ERASED_CONTACT, Initiative, InitiativeStatus
from shared.db import from_row, to_row, upsert, upsert_many
from shared.errors import NotFound

_blockages = TypeAdapter(Blockage)  # stored as JSON
# matching's own columns: intake's events never change them
_OWN = ("formation_problem", "blocked_reason", "trace_context")


class InitiativeRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, initiative_id: uuid.UUID) -> Initiative:
        row = (await self._session.execute(select(initiatives).where(initiatives.c.id == initiative_id))).one_or_none()
        if row is None:
            raise NotFound("initiative", initiative_id)
        return _from_row(row._mapping)

    async def find(self, initiative_id: uuid.UUID) -> Initiative | None:
        try:
            return await self.get(initiative_id)
        except NotFound:
            return None

    async def upsert(self, initiative: Initiative, at: datetime) -> None:
        values = _to_row(initiative) | {"updated_at": at}
        changes = {name: value for name, value in values.items() if name not in ("id", *_OWN)}
        await self._session.execute(upsert(self._session, initiatives, values, key=["id"], update=changes))

    async def upsert_many(self, many: Sequence[Initiative], at: datetime) -> None:
        """`upsert` for several initiatives (each once) in one statement."""
        rows = [_to_row(initiative) | {"updated_at": at} for initiative in many]
        if rows:
            changes = [name for name in rows[0] if name not in ("id", *_OWN)]
            await self._session.execute(upsert_many(self._session, initiatives, key=["id"], update=changes), rows)

    async def forget_contact(self, initiative_id: uuid.UUID) -> None:
        """The originator's contact person was erased: the initiative stays, their name, email and phone go."""
        await self._session.execute(
            update(initiatives)
            .where(initiatives.c.id == initiative_id)
            .values(**contact_row(ERASED_CONTACT, "contact_"))
        )

    async def set_problem(self, initiative_id: uuid.UUID, blockage: Blockage | None) -> None:
        """Why no group can be proposed yet (None: a group was)."""
        await self._session.execute(
            update(initiatives)
            .where(initiatives.c.id == initiative_id)
            .values(
                formation_problem=blockage.text if blockage else None,
                blocked_reason=_blockages.dump_python(blockage, mode="json") if blockage else None,
            )
        )

    async def clear_problems(self, initiative_ids: Iterable[uuid.UUID]) -> None:
        """A group was proposed for each of them: nothing stands in their way any more."""
        wanted = list(set(initiative_ids))
        if wanted:
            await self._session.execute(
                update(initiatives)
                .where(initiatives.c.id.in_(wanted))
                .values(formation_problem=None, blocked_reason=None)
            )

    async def remember_trace(self, initiative_id: uuid.UUID, traceparent: str | None) -> None:
        """The trace of the acceptance, which the formation job's proposal continues (see shared.tracing)."""
        await self._session.execute(
            update(initiatives).where(initiatives.c.id == initiative_id).values(trace_context=traceparent)
        )

    async def remember_traces(self, initiative_ids: Iterable[uuid.UUID], traceparent: str | None) -> None:
        wanted = list(set(initiative_ids))
        if wanted:
            await self._session.execute(
                update(initiatives).where(initiatives.c.id.in_(wanted)).values(trace_context=traceparent)
            )

    async def traces(self, initiative_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str | None]:
        rows = await self._session.execute(
            select(initiatives.c.id, initiatives.c.trace_context).where(initiatives.c.id.in_(list(initiative_ids)))
        )
        return {row.id: row.trace_context for row in rows}

    async def awaiting_first_proposal(self) -> list[Initiative]:
        """Accepted initiatives not tried yet since their acceptance: no live group, and no reason recorded
        why none can be (groups end only when superseded by another or when the initiative ends)."""
        rows = await self._session.execute(
            select(initiatives)
            .where(
                initiatives.c.status == InitiativeStatus.ACCEPTED.value,
                initiatives.c.formation_problem.is_(None),
                ~exists().where(
                    groups.c.initiative_id == initiatives.c.id, groups.c.status.in_([s.value for s in LIVE_GROUPS])
                ),
            )
            .order_by(initiatives.c.id)
        )
        return [_from_row(row._mapping) for row in rows]

    async def waiting(self) -> list[uuid.UUID]:
        """Accepted initiatives that have no group yet because the pool could not form one."""
        rows = await self._session.scalars(
            select(initiatives.c.id)
            .where(
                initiatives.c.status == InitiativeStatus.ACCEPTED.value,
                initiatives.c.formation_problem.is_not(None),
            )
            .order_by(initiatives.c.id)
        )
        return list(rows)


def _to_row(i: Initiative) -> dict[str, Any]:
    return to_row(
        i,
        initiatives,
        competences_needed=[c.value for c in i.competences],
        group_size_min=i.size_min,
        group_size_max=i.size_max,
        **organisation_row(i.originator),
        **contact_row(i.contact, "contact_"),
    )


def _from_row(row: Any) -> Initiative:
    return from_row(
        Initiative,
        row,
        competences=row["competences_needed"],
        size_min=row["group_size_min"],
        size_max=row["group_size_max"],
        originator=organisation_of(row),
        contact=contact_of(row, "contact_"),
        blockage=row["blocked_reason"],
    )
