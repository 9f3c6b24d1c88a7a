"""The unit of work, and the in-memory pool kept in step with the database."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.matching.db.repositories import GroupRepository, InitiativeRepository, ResourceRepository
from services.matching.db.tables import erased_subjects, outbox, pool_version
from services.matching.domain.pool import Pool
from shared.erasure import ErasedSubjects, OutboxScrubber
from shared.unit_of_work import UnitOfWork


class MatchingUnitOfWork(UnitOfWork):
    initiatives: InitiativeRepository
    resources: ResourceRepository
    groups: GroupRepository
    erased: ErasedSubjects
    sent_events: OutboxScrubber  # its own outbox: events carry members' contact details
    _version: int | None

    def open_repositories(self, session: AsyncSession) -> None:
        self._version = None
        self.initiatives = InitiativeRepository(session)
        self.resources = ResourceRepository(session, self.lock_pool)
        self.groups = GroupRepository(session)
        self.erased = ErasedSubjects(session, erased_subjects)
        self.sent_events = OutboxScrubber(session, outbox)

    async def lock_pool(self) -> int:
        """Take the pool lock for this transaction (once) and return the version its changes carry."""
        if self._version is None:
            version = await self.session.scalar(
                update(pool_version)
                .where(pool_version.c.id == 1)
                .values(value=pool_version.c.value + 1)
                .returning(pool_version.c.value)
            )
            if version is None:  # migration 0002 inserts the one row; without it there is no lock to take
                raise RuntimeError("matching's pool_version row is missing: run its migrations")
            self._version = int(version)
        return self._version

    async def pool_version(self) -> int:
        """The last version handed out (committed), without taking the lock."""
        return int(await self.session.scalar(select(pool_version.c.value)) or 0)


class PoolCache:
    """The in-memory pool of this process, brought up to date from the rows changed since it last looked.

    Call `current()` while holding the pool lock to see exactly the committed pool."""

    def __init__(self, uow_factory: Callable[[], MatchingUnitOfWork]) -> None:
        self._uow_factory = uow_factory
        self._pool = Pool()
        self._version = -1
        self._lock = asyncio.Lock()

    async def current(self) -> Pool:
        async with self._lock, self._uow_factory() as uow:
            version = await uow.pool_version()
            if version == self._version:
                return self._pool
            for resource in await uow.resources.changed_since(self._version):
                self._pool.upsert(resource.candidate)
            if await uow.resources.count() != len(self._pool):  # someone was erased: drop who is gone
                for gone in self._pool.ids() - await uow.resources.ids():
                    self._pool.remove(gone)
            self._version = version
            return self._pool
