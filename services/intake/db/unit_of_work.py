"""Intake's unit of work: one transaction over the initiatives and the outbox."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.db.repositories import InitiativeRepository
from services.intake.db.tables import outbox
from shared.erasure import OutboxScrubber
from shared.unit_of_work import UnitOfWork


class IntakeUnitOfWork(UnitOfWork):
    initiatives: InitiativeRepository
    sent_events: OutboxScrubber  # its own outbox: initiative events carry the originator's contact

    def open_repositories(self, session: AsyncSession) -> None:
        self.initiatives = InitiativeRepository(session)
        self.sent_events = OutboxScrubber(session, outbox)
