"""Erased means erased: the subjects a service was told to forget (ids only), and its outbox scrubbed of them.

A service that keeps personal data from other services' events remembers each erasure in its
`erased_subjects` table (the id and the kind of subject, never a name or an address) and asks it before it
stores personal data again: a `MemberInvited` or a `ResourceUpdated` consumed after `ResourceErased` (the
topics are ordered per key, not across topics) must not bring the person back. A subject is either a
resource (named by its resource id) or an initiative's originator contact (named by the initiative id).

Events already in the service's outbox are scrubbed too: rows the relay has published are deleted at once,
rows still waiting go out with the subject's name, email and phone replaced.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Column, MetaData, String, Table, Uuid, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts.personal_data import SubjectKind, redact_payload
from shared.db import Timestamp, insert_ignore, mark_erasure, present

__all__ = [
    "ErasedSubjects",
    "InMemoryErasedSubjects",
    "InMemoryOutboxScrubber",
    "OutboxScrubber",
    "SubjectKind",
    "define_erased_subjects_table",
    "purge_published_outbox",
    "redact_payload",
    "scrub_outbox",
]


def define_erased_subjects_table(metadata: MetaData) -> Table:
    return Table(
        "erased_subjects",
        metadata,
        Column("kind", String(20), primary_key=True),
        Column("subject_id", Uuid, primary_key=True),
        Column("erased_at", Timestamp(), nullable=False),
    )


class ErasedSubjects:
    """The service's memory of erasures, in the unit of work's transaction."""

    def __init__(self, session: AsyncSession, table: Table) -> None:
        self._session = session
        self._table = table

    async def remember(self, kind: SubjectKind, subject_id: uuid.UUID, at: datetime) -> None:
        values = {"kind": kind.value, "subject_id": subject_id, "erased_at": at}
        mark_erasure(self._session)
        await self._session.execute(insert_ignore(self._session, self._table, values))

    async def among(self, kind: SubjectKind, ids: Iterable[uuid.UUID | None]) -> set[uuid.UUID]:
        """Which of these ids were erased (one index probe each: a replay's batch asks for hundreds)."""
        wanted = (i for i in ids if i is not None)
        return await present(self._session, self._table, "subject_id", wanted, kind=kind.value)

    async def contains(self, kind: SubjectKind, subject_id: uuid.UUID | None) -> bool:
        return bool(await self.among(kind, [subject_id]))


class InMemoryErasedSubjects(ErasedSubjects):
    """The same memory for handler tests over fakes."""

    def __init__(self) -> None:
        self.erased: set[tuple[SubjectKind, uuid.UUID]] = set()

    async def remember(self, kind: SubjectKind, subject_id: uuid.UUID, at: datetime) -> None:
        self.erased.add((kind, subject_id))

    async def among(self, kind: SubjectKind, ids: Iterable[uuid.UUID | None]) -> set[uuid.UUID]:
        return {i for i in ids if i is not None and (kind, i) in self.erased}


# --- the outbox ----------------------------------------------------------------------------------


class OutboxScrubber:
    """The service's own outbox, as erasure sees it, in the unit of work's transaction."""

    def __init__(self, session: AsyncSession, outbox: Table) -> None:
        self._session = session
        self._outbox = outbox

    async def forget(self, kind: SubjectKind, subject_id: uuid.UUID) -> int:
        return await scrub_outbox(self._session, self._outbox, kind, subject_id)

    async def purge_published(self, before: datetime) -> int:
        return await purge_published_outbox(self._session, self._outbox, before)


class InMemoryOutboxScrubber(OutboxScrubber):
    """For handler tests over fakes: records what it was asked to do."""

    def __init__(self) -> None:
        self.forgotten: list[tuple[SubjectKind, uuid.UUID]] = []
        self.purged_before: list[datetime] = []

    async def forget(self, kind: SubjectKind, subject_id: uuid.UUID) -> int:
        self.forgotten.append((kind, subject_id))
        return 0

    async def purge_published(self, before: datetime) -> int:
        self.purged_before.append(before)
        return 0


async def scrub_outbox(session: AsyncSession, outbox: Table, kind: SubjectKind, subject_id: uuid.UUID) -> int:
    """Delete the published outbox rows that name the subject; redact those still to be published.

    Returns how many rows were touched. Only rows whose envelope mentions the id are read."""
    mark_erasure(session)
    mentioning = outbox.c.envelope.contains(str(subject_id))
    published = await session.execute(delete(outbox).where(mentioning, outbox.c.published_at.is_not(None)))
    waiting = (await session.execute(select(outbox.c.id, outbox.c.envelope).where(mentioning))).all()
    for row in waiting:
        envelope = json.loads(row.envelope)
        envelope["payload"] = redact_payload(envelope["payload"], kind, subject_id)
        await session.execute(update(outbox).where(outbox.c.id == row.id).values(envelope=json.dumps(envelope)))
    return int(published.rowcount or 0) + len(waiting)  # type: ignore[attr-defined]


async def purge_published_outbox(session: AsyncSession, outbox: Table, published_before: datetime) -> int:
    """Delete outbox rows published before the moment (for a service whose events carry contact data)."""
    result = await session.execute(
        delete(outbox).where(outbox.c.published_at.is_not(None), outbox.c.published_at < published_before)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
