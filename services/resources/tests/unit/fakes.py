"""Resources's unit of work in memory, and the registry's use cases over it through the real message bus."""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from sqlalchemy.exc import IntegrityError

from services.resources.domain import Resource, SearchFilters, Status
from services.resources.handlers import HANDLERS, ConfirmRegistration, GetResource, RegisterResource
from services.resources.links import PrivateLinks
from services.resources.tests.factories import WEB_URL, a_profile
from shared.contracts import Event
from shared.contracts.resources import ResourceConfirmationRequested
from shared.errors import NotFound
from shared.messagebus import MessageBus

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class FakeResourceRepository:
    """The registry in a dict; what it hands out are copies, so only `add` and `save` change it."""

    def __init__(self) -> None:
        self.stored: dict[uuid.UUID, Resource] = {}

    async def add(self, resource: Resource) -> None:
        if await self.by_email(resource.profile.email) is not None:
            raise IntegrityError("INSERT INTO resources", {}, Exception("uq_resources_email"))
        self.stored[resource.id] = copy.deepcopy(resource)

    async def save(self, resource: Resource) -> None:
        self.stored[resource.id] = copy.deepcopy(resource)

    async def get(self, resource_id: uuid.UUID, *, for_update: bool = False) -> Resource:
        if resource_id not in self.stored:
            raise NotFound("resource", resource_id)
        return copy.deepcopy(self.stored[resource_id])

    async def by_email(self, email: str, *, for_update: bool = False) -> Resource | None:
        found = [r for r in self.stored.values() if r.profile.email == email]
        return copy.deepcopy(found[0]) if found else None

    async def search(
        self, filters: SearchFilters, limit: int | None = None, offset: int = 0
    ) -> tuple[list[Resource], int]:
        found = [r for r in self.stored.values() if not filters.statuses or r.status in filters.statuses]
        return found[offset : None if limit is None else offset + limit], len(found)

    async def events_about(self, resource_id: uuid.UUID) -> list[dict[str, Any]]:
        return []

    async def unconfirmed_since(self, moment: datetime) -> list[uuid.UUID]:
        return [
            r.id
            for r in self.stored.values()
            if r.status is Status.PENDING_CONFIRMATION
            and r.confirmation_expires_at is not None
            and r.confirmation_expires_at < moment
        ]

    async def erase(self, resource_id: uuid.UUID) -> None:
        del self.stored[resource_id]


@dataclass
class FakeUnitOfWork:
    """Events count once committed; leaving the block without commit drops the ones emitted in it."""

    resources: FakeResourceRepository = field(default_factory=FakeResourceRepository)
    committed: list[Event] = field(default_factory=list)
    _emitted: list[Event] = field(default_factory=list)

    async def __aenter__(self) -> FakeUnitOfWork:
        self._emitted = []
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._emitted = []

    async def emit(self, event: Event) -> None:
        self._emitted.append(event)

    async def commit(self) -> None:
        self.committed.extend(self._emitted)
        self._emitted = []

    def events(self, event_type: type[Event]) -> list[Any]:
        return [e for e in self.committed if isinstance(e, event_type)]


@dataclass
class FixedClock:
    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Registry:
    uow: FakeUnitOfWork
    clock: FixedClock
    links: PrivateLinks
    bus: MessageBus[Any]

    async def register(self, **changes: object) -> uuid.UUID:
        resource_id: uuid.UUID = await self.bus.handle(RegisterResource(a_profile(**changes)))
        return resource_id

    def confirmation_token(self, resource_id: uuid.UUID) -> str:
        requested = [e for e in self.uow.events(ResourceConfirmationRequested) if e.resource_id == resource_id]
        return requested[-1].confirm_url.rsplit("/", 1)[-1]

    async def active(self, **changes: object) -> uuid.UUID:
        resource_id = await self.register(**changes)
        await self.bus.handle(ConfirmRegistration(self.confirmation_token(resource_id)))
        return resource_id

    async def status_of(self, resource_id: uuid.UUID) -> Status:
        resource: Resource = await self.bus.handle(GetResource(resource_id))
        return resource.status


def fake_registry(links: PrivateLinks | None = None) -> Registry:
    """The handlers on a bus over one FakeUnitOfWork, at a clock standing at NOW."""
    uow, clock = FakeUnitOfWork(), FixedClock()
    links = links or PrivateLinks(WEB_URL, "a-test-secret")
    bus: MessageBus[Any] = MessageBus(lambda: uow, HANDLERS, {"clock": clock, "links": links})  # type: ignore[arg-type,return-value]
    return Registry(uow, clock, links, bus)
