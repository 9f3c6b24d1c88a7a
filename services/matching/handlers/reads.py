"""What coordinators read: groups with their people, an initiative's group, who could take a seat.
Nothing here changes anything."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from services.matching.db import MatchingUnitOfWork
from services.matching.domain.formation import replacements
from services.matching.domain.group import Group, GroupStatus
from services.matching.domain.profiles import Initiative, Resource
from services.matching.domain.rules import Explanation, explain
from services.matching.handlers.base import HandlerBase


@dataclass(frozen=True)
class GroupDetails:
    """A group with what coordinators need to read it: the initiative and the people in its seats."""

    group: Group
    initiative: Initiative | None
    people: dict[uuid.UUID, Resource]


class ReadHandlers(HandlerBase):
    async def group(self, group_id: uuid.UUID) -> GroupDetails:
        async with self._uow() as uow:
            return await self._details(await uow.groups.get(group_id), uow)

    async def groups(
        self, initiative_id: uuid.UUID | None, status: GroupStatus | None, limit: int, offset: int
    ) -> tuple[list[GroupDetails], int]:
        async with self._uow() as uow:
            found, total = await uow.groups.search(initiative_id, status, limit, offset)
            return [await self._details(g, uow) for g in found], total

    async def _details(self, group: Group, uow: MatchingUnitOfWork) -> GroupDetails:
        initiative = await uow.initiatives.find(group.initiative_id)
        return GroupDetails(group, initiative, await uow.resources.many(s.resource_id for s in group.seats))

    async def initiative(self, initiative_id: uuid.UUID) -> tuple[Initiative, Group | None]:
        async with self._uow() as uow:
            return await uow.initiatives.get(initiative_id), await uow.groups.live_for(initiative_id)

    async def suggestions(
        self, group_id: uuid.UUID, resource_id: uuid.UUID, n: int
    ) -> list[tuple[Resource, Explanation]]:
        """The best people to take this member's seat, best first."""
        async with self._uow() as uow:
            group = await uow.groups.get(group_id)
            group.seat_of(resource_id)  # NotFound (404) unless they are a member of this group
            initiative = await uow.initiatives.get(group.initiative_id)
            view = (await self._pool.current()).view()
            remaining = [c for s in group.members if s.resource_id != resource_id and (c := view.get(s.resource_id))]
            found = replacements(initiative.need, view, remaining, group.ever_seated, n)
            people = await uow.resources.many(c.id for c in found)
        return [(people[c.id], explain(initiative.need, c)) for c in found if c.id in people]
