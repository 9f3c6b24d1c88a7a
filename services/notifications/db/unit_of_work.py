"""Notifications's unit of work: one transaction over the delivery log, profile links, preferences and erasures."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.notifications.db.repositories import DeliveryRepository, Preferences, ProfileLinks
from services.notifications.db.tables import erased_subjects
from shared.erasure import ErasedSubjects
from shared.outbox import Outbox
from shared.unit_of_work import UnitOfWork


class NotificationsUnitOfWork(UnitOfWork):
    """A commit that queued deliveries wakes the sender at once (it polls only as a fallback)."""

    deliveries: DeliveryRepository
    profile_links: ProfileLinks
    preferences: Preferences
    erased: ErasedSubjects

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        outbox: Outbox,
        on_events_committed: Callable[[], None] = lambda: None,
        on_deliveries_queued: Callable[[], None] = lambda: None,
    ) -> None:
        super().__init__(session_factory, outbox, on_events_committed)
        self._on_deliveries_queued = on_deliveries_queued
        self.deliveries_queued = False

    def open_repositories(self, session: AsyncSession) -> None:
        self.deliveries = DeliveryRepository(session)
        self.profile_links = ProfileLinks(session)
        self.preferences = Preferences(session)
        self.erased = ErasedSubjects(session, erased_subjects)
        self.deliveries_queued = False  # a fresh transaction has queued nothing yet

    async def commit(self) -> None:
        await super().commit()
        if self.deliveries_queued:
            self.deliveries_queued = False
            self._on_deliveries_queued()
