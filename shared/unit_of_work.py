"""The unit of work: one transaction in which state changes and the events they cause commit together."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any, Self

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.contracts import Envelope, Event
from shared.db import ERASURE_MARK, autocommitting, wipe_after_erasure
from shared.outbox import Outbox


class UnitOfWork:
    """Services subclass it and attach their repositories in `open_repositories`.

    Leaving the block without `commit()` rolls everything back. A commit that carried events wakes
    the outbox relay at once instead of leaving them for its next poll.
    """

    session: AsyncSession

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        outbox: Outbox,
        on_events_committed: Callable[[], None] = lambda: None,
    ) -> None:
        self._session_factory = session_factory
        self._outbox = outbox
        self._on_events_committed = on_events_committed
        self.events_recorded = False
        self._one_statement = False

    def open_repositories(self, session: AsyncSession) -> None:
        """Attach the service's repositories to the transaction's session (subclasses override)."""

    async def emit(self, event: Event) -> Envelope:
        """Write the event to the outbox in this transaction."""
        self.events_recorded = True
        return await self._outbox.add(self.session, event)

    async def emit_many(self, events: Sequence[Event]) -> list[Envelope]:
        """Write the events to the outbox in this transaction, in one statement."""
        if not events:
            return []
        self.events_recorded = True
        return await self._outbox.add_many(self.session, events)

    def outbox_row(self, event: Event) -> tuple[Envelope, dict[str, Any]]:
        """The event's outbox row, for a repository to write in the same statement as the change it follows
        (one round trip less than `emit`); like `emit`, the commit then wakes the relay."""
        self.events_recorded = True
        return self._outbox.row(event)

    def in_one_statement(self) -> Self:
        """For a use case whose every write is one statement (a repository's chain of data-modifying CTEs): on
        PostgreSQL its unit of work runs in autocommit, without the BEGIN and COMMIT round trips. The statement
        is a transaction of its own, so the change and its outbox row still commit together or not at all; the
        reads before it see the latest commits, as each statement of a READ COMMITTED transaction would. On
        SQLite, where repositories write such a change in several statements, it stays one transaction."""
        self._one_statement = True
        return self

    async def __aenter__(self) -> Self:
        bind = self._session_factory.kw.get("bind")
        if self._one_statement and isinstance(bind, AsyncEngine) and bind.dialect.name == "postgresql":
            self.session = self._session_factory(bind=autocommitting(bind))
        else:
            self.session = self._session_factory()
        self.events_recorded = False
        self.open_repositories(self.session)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            await self.session.rollback()
        finally:
            await self.session.close()

    async def commit(self) -> None:
        erased = self.session.info.pop(ERASURE_MARK, False)
        await self.session.commit()
        if erased:  # what the erasure removed must not stay on disk in old page images (shared.db)
            await wipe_after_erasure(self.session)
        if self.events_recorded:
            self.events_recorded = False
            self._on_events_committed()
