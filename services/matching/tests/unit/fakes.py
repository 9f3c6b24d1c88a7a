"""Matching's unit of work in memory: the same repositories' methods over dicts, no I/O.

One `Store` is the "database"; every `FakeUnitOfWork(store)` is one transaction over it. Events emitted
reach `store.published` only on commit, as the outbox rows would. The pool version behaves as the
`pool_version` row does: a writer's changes carry the next version, which others see once it commits."""

from __future__ import annotations

import copy
import dataclasses
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Self, TypeVar

from services.matching.db import MatchingUnitOfWork
from services.matching.db.repositories import GroupRepository, InitiativeRepository, ResourceRepository
from services.matching.domain.blockage import Blockage
from services.matching.domain.group import ACTIVE_SEATS, LIVE_GROUPS, Group, GroupStatus, SeatStatus
from services.matching.domain.profiles import Initiative, InitiativeStatus, Resource
from shared.contracts import Envelope, Event
from shared.erasure import InMemoryErasedSubjects, InMemoryOutboxScrubber
from shared.errors import NotFound

T = TypeVar("T")


@dataclass
class Store:
    initiatives: dict[uuid.UUID, Initiative] = field(default_factory=dict)
    resources: dict[uuid.UUID, Resource] = field(default_factory=dict)
    versions: dict[uuid.UUID, int] = field(default_factory=dict)  # the pool version that last changed a person
    groups: dict[uuid.UUID, Group] = field(default_factory=dict)
    pool_version: int = 0
    traces: dict[uuid.UUID, str | None] = field(default_factory=dict)  # the acceptances' traceparents
    published: list[Event] = field(default_factory=list)
    erased: InMemoryErasedSubjects = field(default_factory=InMemoryErasedSubjects)
    sent_events: InMemoryOutboxScrubber = field(default_factory=InMemoryOutboxScrubber)

    def of_type(self, event_type: type[Event]) -> list[Event]:
        return [e for e in self.published if isinstance(e, event_type)]


def row_of(rows: Mapping[uuid.UUID, T], key: uuid.UUID, what: str) -> T:
    """The row with that key, or NotFound as the real repositories raise it."""
    if key not in rows:
        raise NotFound(what, key)
    return rows[key]


class FakeInitiatives(InitiativeRepository):
    def __init__(self, store: Store) -> None:
        self._store = store

    async def get(self, initiative_id: uuid.UUID) -> Initiative:
        return row_of(self._store.initiatives, initiative_id, "initiative")

    async def upsert(self, initiative: Initiative, at: datetime) -> None:
        known = self._store.initiatives.get(initiative.id)  # matching's own fields stay
        own = {"formation_problem": known.formation_problem, "blockage": known.blockage} if known else {}
        self._store.initiatives[initiative.id] = dataclasses.replace(initiative, **own)

    async def set_problem(self, initiative_id: uuid.UUID, blockage: Blockage | None) -> None:
        found = self._store.initiatives[initiative_id]
        problem = blockage.text if blockage else None
        self._store.initiatives[initiative_id] = dataclasses.replace(
            found, formation_problem=problem, blockage=blockage
        )

    async def clear_problems(self, initiative_ids: Iterable[uuid.UUID]) -> None:
        for initiative_id in initiative_ids:
            await self.set_problem(initiative_id, None)

    async def remember_trace(self, initiative_id: uuid.UUID, traceparent: str | None) -> None:
        self._store.traces[initiative_id] = traceparent

    async def traces(self, initiative_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str | None]:
        return {i: self._store.traces.get(i) for i in initiative_ids}

    async def awaiting_first_proposal(self) -> list[Initiative]:
        grouped = {g.initiative_id for g in self._store.groups.values() if g.status in LIVE_GROUPS}
        return sorted(
            (
                i
                for i in self._store.initiatives.values()
                if i.status is InitiativeStatus.ACCEPTED and i.formation_problem is None and i.id not in grouped
            ),
            key=lambda i: i.id,
        )

    async def waiting(self) -> list[uuid.UUID]:
        return sorted(
            i.id
            for i in self._store.initiatives.values()
            if i.status is InitiativeStatus.ACCEPTED and i.formation_problem is not None
        )


class FakeResources(ResourceRepository):
    def __init__(self, store: Store, uow: FakeUnitOfWork) -> None:
        self._store = store
        self._uow = uow

    async def _stamp(self, resource: Resource) -> None:
        self._store.resources[resource.id] = resource
        self._store.versions[resource.id] = await self._uow.lock_pool()

    async def find(self, resource_id: uuid.UUID) -> Resource | None:
        return self._store.resources.get(resource_id)

    async def many(self, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Resource]:
        return {i: self._store.resources[i] for i in set(ids) if i in self._store.resources}

    async def changed_since(self, version: int) -> list[Resource]:
        return [r for i, r in self._store.resources.items() if self._store.versions[i] > version]

    async def count(self) -> int:
        return len(self._store.resources)

    async def ids(self) -> set[uuid.UUID]:
        return set(self._store.resources)

    async def upsert(self, resource: Resource, at: datetime) -> None:
        known = self._store.resources.get(resource.id)
        await self._stamp(dataclasses.replace(resource, load=known.load if known else 0))
        await self.refresh_loads([resource.id])

    async def deactivate(self, resource_id: uuid.UUID, at: datetime) -> None:
        if resource_id in self._store.resources:
            await self._stamp(dataclasses.replace(self._store.resources[resource_id], active=False))

    async def erase(self, resource_id: uuid.UUID) -> None:
        self._store.resources.pop(resource_id, None)
        self._store.versions.pop(resource_id, None)

    async def refresh_loads(self, ids: Iterable[uuid.UUID]) -> None:
        for resource_id in set(ids):
            if resource_id not in self._store.resources:
                continue
            load = sum(
                1
                for g in self._store.groups.values()
                if g.status in LIVE_GROUPS
                for s in g.seats
                if s.resource_id == resource_id and s.status in ACTIVE_SEATS
            )
            await self._stamp(dataclasses.replace(self._store.resources[resource_id], load=load))


class FakeGroups(GroupRepository):
    def __init__(self, store: Store) -> None:
        self._store = store

    async def get(self, group_id: uuid.UUID) -> Group:
        return copy.deepcopy(row_of(self._store.groups, group_id, "group"))

    async def of_seat(self, seat_id: uuid.UUID) -> Group:
        by_seat = {s.id: g for g in self._store.groups.values() for s in g.seats}
        return copy.deepcopy(row_of(by_seat, seat_id, "invitation"))

    async def live_for(self, initiative_id: uuid.UUID) -> Group | None:
        found = [g for g in self._store.groups.values() if g.initiative_id == initiative_id and g.status in LIVE_GROUPS]
        return copy.deepcopy(found[0]) if found else None

    async def search(
        self, initiative_id: uuid.UUID | None, status: GroupStatus | None, limit: int, offset: int
    ) -> tuple[list[Group], int]:
        found = [
            g
            for g in self._store.groups.values()
            if (initiative_id is None or g.initiative_id == initiative_id) and (status is None or g.status is status)
        ]
        found.sort(key=lambda g: g.id)
        found.sort(key=lambda g: g.created_at, reverse=True)
        return copy.deepcopy(found[offset : offset + limit]), len(found)

    async def holding(self, resource_id: uuid.UUID, statuses: Iterable[GroupStatus]) -> list[Group]:
        wanted = set(statuses)
        return [
            copy.deepcopy(g)
            for g in sorted(self._store.groups.values(), key=lambda g: g.id)
            if g.status in wanted and any(s.resource_id == resource_id and s.active for s in g.seats)
        ]

    async def with_expired_invitations(self, at: datetime) -> list[uuid.UUID]:
        return sorted(
            g.id
            for g in self._store.groups.values()
            if g.status is GroupStatus.CONFIRMED
            and any(s.status is SeatStatus.INVITED and s.expires_at and s.expires_at <= at for s in g.seats)
        )

    async def confirmed(self) -> list[uuid.UUID]:
        return sorted(g.id for g in self._store.groups.values() if g.status is GroupStatus.CONFIRMED)

    async def add(self, group: Group) -> None:
        await self.save(group)

    async def add_many(self, new: Sequence[Group]) -> None:
        for group in new:
            await self.save(group)

    async def save(self, group: Group) -> None:
        self._store.groups[group.id] = copy.deepcopy(group)


class FakeUnitOfWork(MatchingUnitOfWork):
    def __init__(self, store: Store) -> None:  # no session factory, no outbox: the store is both
        self._store = store
        self._pending: list[Event] = []
        self._version = None
        self.committed = False

    async def __aenter__(self) -> Self:
        self._pending, self._version = [], None
        self.initiatives = FakeInitiatives(self._store)
        self.resources = FakeResources(self._store, self)
        self.groups = FakeGroups(self._store)
        self.erased = self._store.erased
        self.sent_events = self._store.sent_events
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._pending = []  # what was not committed is not published

    async def emit(self, event: Event) -> Envelope:
        self._pending.append(event)
        return Envelope.wrap(event, producer="matching")

    async def commit(self) -> None:
        self._store.published.extend(self._pending)
        self._pending = []
        if self._version is not None:
            self._store.pool_version = max(self._store.pool_version, self._version)
        self.committed = True

    async def lock_pool(self) -> int:
        if self._version is None:
            self._version = self._store.pool_version + 1
        return self._version

    async def pool_version(self) -> int:
        return self._store.pool_version
