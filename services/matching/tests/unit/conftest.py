"""Matching's bus over the in-memory unit of work, as bootstrap wires it; events applied as the consumer does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.matching.consumers import SUBSCRIPTIONS
from services.matching.db import PoolCache
from services.matching.handlers import HANDLERS, Forming, ProposeAccepted
from services.matching.handlers.contracts import resource_of
from services.matching.links import InvitationLinks
from services.matching.tests.factories import accepted, team
from services.matching.tests.unit.fakes import FakeUnitOfWork, Store
from shared.contracts import Envelope, Event
from shared.contracts.groups import GroupFormationBlocked, GroupProposed, MemberInvited
from shared.contracts.resources import ResourceRegistered
from shared.messagebus import MessageBus

NOW = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
WEB_URL = "http://web.test"  # MEETMALMO_WEB_PUBLIC_URL: the links in the events open its pages
HANDLER_OF = {event_type: handler for handlers in SUBSCRIPTIONS.values() for event_type, handler in handlers.items()}


class Matching:
    """The bus over one in-memory store, with a clock the tests move."""

    def __init__(self) -> None:
        self.store = Store()
        self.now = NOW
        self.links = InvitationLinks(WEB_URL, "unit-test-secret-of-at-least-32-characters")
        forming = Forming(PoolCache(lambda: FakeUnitOfWork(self.store)), lambda: self.now, self.links, WEB_URL)
        self.bus = MessageBus(lambda: FakeUnitOfWork(self.store), HANDLERS, {"forming": forming})

    async def consume(self, *events: Event, together: bool = False) -> None:
        """Each event through the handler the consumer maps it to, in its own committed unit of work, each
        followed by a round of the formation job (which an acceptance wakes); `together`: one round after all."""
        for event in events:
            uow = FakeUnitOfWork(self.store)
            async with uow:
                await self.bus.bind(HANDLER_OF[type(event)])(event, uow, Envelope.wrap(event, producer="test"))
                await uow.commit()
            if not together:
                await self.bus.handle(ProposeAccepted())
        if together:
            await self.bus.handle(ProposeAccepted())

    async def seed(self, *people: ResourceRegistered) -> None:
        """People in the pool without the event path (as a restored database would have them): nothing is retried."""
        async with FakeUnitOfWork(self.store) as uow:
            for person in people:
                await uow.resources.upsert(resource_of(person, active=True), self.now)
            await uow.commit()

    async def proposed(self, **changes: Any) -> GroupProposed:
        await self.consume(*team(), accepted(**changes))
        (proposal,) = self.proposals()
        return proposal

    def proposals(self) -> list[GroupProposed]:
        return [e for e in self.store.published if isinstance(e, GroupProposed)]

    def blockages(self) -> list[GroupFormationBlocked]:
        return [e for e in self.store.published if isinstance(e, GroupFormationBlocked)]

    def invitations(self) -> list[MemberInvited]:
        return [e for e in self.store.published if isinstance(e, MemberInvited)]

    def token(self, url: str) -> str:
        return url.rsplit("/", 1)[1]

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def matching() -> Matching:
    return Matching()
