"""The unit of work, and the in-memory pool kept in step with the database."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.matching.db.groups import GroupRepository
from services.matching.db.projections import InitiativeRepository, ResourceRepository, resource_from_row
from services.matching.db.tables import pool_version, resources
from services.matching.domain.pool import Pool
from shared.db import UnitOfWork


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
            if version is None:  # migration 0002 inserts the one row; without it there is no lock to take
                raise RuntimeError("matching's pool_version row is missing: run its migrations")
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
                self._pool.upsert(resource_from_row(row._mapping).candidate)
            count = int(await session.scalar(select(func.count()).select_from(resources)) or 0)
            if count != len(self._pool):  # someone was erased: drop who is gone
                present = set(await session.scalars(select(resources.c.id)))
                for gone in self._pool.ids() - present:
                    self._pool.remove(gone)
            self._version = version
            return self._pool
