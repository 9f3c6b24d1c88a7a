"""Intake's unit of work without a database: committed state kept in memory, and a ticking clock.

The fake keeps what was committed; a unit of work left without commit changes nothing and emits nothing.
"""

from __future__ import annotations

import copy
import itertools
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Self

from services.intake.db import ConcurrentUpdate, Filters, InitiativeRepository, IntakeUnitOfWork
from services.intake.domain import (
    ENDED_STATUSES,
    OPEN_STATUSES,
    DuplicateBrief,
    DuplicateCandidate,
    Initiative,
    Receipt,
)
from services.intake.handlers import HANDLERS
from services.intake.links import StatusLinks
from services.intake.tests.factories import NOW
from shared.contracts import Envelope, Event
from shared.erasure import InMemoryOutboxScrubber
from shared.errors import NotFound
from shared.messagebus import MessageBus


@dataclass
class Stored:
    """What the fake database holds once committed."""

    initiatives: dict[uuid.UUID, Initiative] = field(default_factory=dict)
    receipts: dict[str, tuple[str, Receipt]] = field(default_factory=dict)
    counters: dict[int, int] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)


class InMemoryInitiatives(InitiativeRepository):
    def __init__(self, stored: Stored) -> None:  # no session: the state lives in `stored`
        self._stored = stored
        self.written = Stored(
            dict(stored.initiatives), dict(stored.receipts), dict(stored.counters), list(stored.events)
        )
        self.conflicts_left = 0  # saves that lose a race with a concurrent writer

    async def next_reference_number(self, year: int) -> int:
        self.written.counters[year] = self.written.counters.get(year, 0) + 1
        return self.written.counters[year]

    async def add(
        self,
        initiative: Initiative,
        event_row: Mapping[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
        fingerprint: str = "",
    ) -> None:
        self.written.initiatives[initiative.id] = copy.deepcopy(initiative)
        if event_row is not None:  # FakeUnitOfWork.outbox_row's: the event is stored with the initiative
            self.written.events.append(event_row["event"])
        if idempotency_key is not None:
            self.written.receipts[idempotency_key] = (fingerprint, initiative.receipt)

    async def get(self, initiative_id: uuid.UUID, *, for_update: bool = False) -> Initiative:
        if initiative_id not in self.written.initiatives:
            raise NotFound("initiative", initiative_id)
        return copy.deepcopy(self.written.initiatives[initiative_id])

    async def save(self, initiative: Initiative) -> None:
        if self.conflicts_left:
            self.conflicts_left -= 1
            raise ConcurrentUpdate(f"initiative {initiative.id} changed meanwhile")
        self.written.initiatives[initiative.id] = copy.deepcopy(initiative)

    async def duplicate_candidates(
        self, initiative_id: uuid.UUID
    ) -> tuple[DuplicateCandidate, list[DuplicateCandidate]]:
        def candidate(i: Initiative) -> DuplicateCandidate:
            return DuplicateCandidate(i.id, i.title, i.summary, i.originator.organisation_number)

        itself = (await self.get(initiative_id)).submitted_at
        earlier = [
            i
            for i in self.written.initiatives.values()
            if i.id != initiative_id and i.submitted_at <= itself and i.status in OPEN_STATUSES
        ]
        return candidate(self.written.initiatives[initiative_id]), [candidate(i) for i in earlier]

    async def id_of_reference(self, reference: str) -> uuid.UUID | None:
        return next((i.id for i in self.written.initiatives.values() if i.reference == reference), None)

    async def briefs(self, ids: Sequence[uuid.UUID]) -> list[DuplicateBrief]:
        found = (self.written.initiatives[i] for i in ids)
        return [DuplicateBrief(i.id, i.reference, i.title, i.status) for i in found]

    async def search(
        self, filters: Filters, *, sort: str = "-submitted_at", limit: int = 50, offset: int = 0
    ) -> tuple[list[Initiative], int]:
        raise NotImplementedError("searching is SQL: tested on PostgreSQL")

    async def remembered_receipt(self, key: str) -> tuple[str, Receipt] | None:
        return self.written.receipts.get(key)

    async def blank_stored_texts(self, initiative_id: uuid.UUID, erased: Sequence[str]) -> None:
        # The aggregate, saved before, holds its texts already blanked; the receipts keep no fingerprint.
        for key, (_, receipt) in list(self.written.receipts.items()):
            if receipt.id == initiative_id:
                self.written.receipts[key] = ("", receipt)

    async def ended_with_contact_before(self, moment: datetime, limit: int) -> list[uuid.UUID]:
        found = [
            i
            for i in self.written.initiatives.values()
            if i.status in ENDED_STATUSES
            and (i.updated_at or i.submitted_at) < moment
            and not i.originator.contact_erased
        ]
        return [i.id for i in sorted(found, key=lambda i: i.updated_at or i.submitted_at)][:limit]


class FakeUnitOfWork(IntakeUnitOfWork):
    def __init__(self) -> None:  # no session factory, no outbox
        self.stored = Stored()
        self.conflicts = 0  # how many of the next saves lose a race
        self.commits = 0
        self.sent_events = InMemoryOutboxScrubber()

    async def __aenter__(self) -> Self:
        self.initiatives = InMemoryInitiatives(self.stored)
        self.initiatives.conflicts_left, self.conflicts = self.conflicts, 0
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        del self.initiatives  # what was not committed is gone

    async def emit(self, event: Event) -> Envelope:
        self.initiatives.written.events.append(event)
        return Envelope.wrap(event, producer="intake")

    def outbox_row(self, event: Event) -> tuple[Envelope, dict[str, Any]]:
        return Envelope.wrap(event, producer="intake"), {"event": event}

    async def commit(self) -> None:
        self.stored = self.initiatives.written
        self.initiatives = InMemoryInitiatives(self.stored)
        self.commits += 1


class Clock:
    def __init__(self) -> None:
        self._ticks = itertools.count()

    def __call__(self) -> datetime:
        return NOW + timedelta(minutes=next(self._ticks))


def fake_bus(uow: FakeUnitOfWork) -> MessageBus[FakeUnitOfWork]:
    """Intake's handlers on the bus, each call handed `uow`."""
    links = StatusLinks("https://intake.example/", "handler-tests-secret-of-at-least-32-characters")
    return MessageBus(lambda: uow, HANDLERS, {"clock": Clock(), "links": links})
