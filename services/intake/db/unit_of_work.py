"""Intake's unit of work: one transaction over the initiatives and the outbox."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.db.repositories import InitiativeRepository
from shared.unit_of_work import UnitOfWork


class IntakeUnitOfWork(UnitOfWork):
    initiatives: InitiativeRepository

    def open_repositories(self, session: AsyncSession) -> None:
        self.initiatives = InitiativeRepository(session)
