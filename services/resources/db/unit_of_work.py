"""Resources's unit of work: one transaction over the registry and the outbox."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.resources.db.repositories import ResourceRepository
from shared.unit_of_work import UnitOfWork


class ResourcesUnitOfWork(UnitOfWork):
    resources: ResourceRepository

    def open_repositories(self, session: AsyncSession) -> None:
        self.resources = ResourceRepository(session)
