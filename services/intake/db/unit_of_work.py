"""Intake's unit of work: one transaction over the initiatives and the outbox."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.intake.db.repositories import InitiativeRepository, ReferenceNumbers
from services.intake.db.tables import outbox
from shared.erasure import OutboxScrubber
from shared.outbox import Outbox
from shared.unit_of_work import UnitOfWork


class IntakeUnitOfWork(UnitOfWork):
    initiatives: InitiativeRepository
    sent_events: OutboxScrubber  # its own outbox: initiative events carry the originator's contact

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        outbox: Outbox,
        on_events_committed: Callable[[], None] = lambda: None,
        references: ReferenceNumbers | None = None,
    ) -> None:
        """`references`: the process's reference numbers (one per process, from the composition root); without
        it every number is taken from the sequence on its own."""
        super().__init__(session_factory, outbox, on_events_committed)
        self._references = references

    def open_repositories(self, session: AsyncSession) -> None:
        self.initiatives = InitiativeRepository(session, self._references)
        self.sent_events = OutboxScrubber(session, outbox)
