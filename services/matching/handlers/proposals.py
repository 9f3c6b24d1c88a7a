"""Coordinators steer proposals: one on demand (or instead of the current one), many at once, swap, remove."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from services.matching.db import MatchingUnitOfWork
from services.matching.domain.formation import propose_many, remove, swap
from services.matching.domain.group import Group, GroupStatus
from services.matching.domain.pool import Pool
from services.matching.domain.profiles import Initiative
from services.matching.domain.solver import Infeasible, propose
from services.matching.handlers.base import HandlerBase
from shared.errors import InvalidTransition


class ProposalHandlers(HandlerBase):
    async def propose_for(self, initiative_id: uuid.UUID) -> Group:
        """A proposal on demand: for an initiative still waiting, or instead of the current proposal."""

        async def work(uow: MatchingUnitOfWork, pool: Pool, at: datetime) -> Group:
            initiative = await uow.initiatives.get(initiative_id)
            if initiative.status != "accepted":
                raise InvalidTransition("initiative", initiative.status, "form a group for")
            current = await uow.groups.live_for(initiative_id)
            if current is not None and current.status is not GroupStatus.PROPOSED:
                raise InvalidTransition("group", current.status.value, "propose another group instead of")
            view = pool.view()
            if current is not None:  # superseded: its people are free for the new proposal
                for seat in current.members:
                    view.add_load(seat.resource_id, -1)
            proposal = propose(initiative.need, view, settings=self._solver)
            if current is not None:
                current.dissolve("superseded by a new proposal", at)
                await self._ended(uow, current, initiative)
            return await self._store_proposal(uow, initiative, proposal, at)

        return await self._write(work)

    async def propose_batch(self, initiative_ids: Sequence[uuid.UUID]) -> list[tuple[uuid.UUID, Group | str]]:
        """Groups for several initiatives at once, sharing capacity (see formation.propose_many)."""

        async def work(uow: MatchingUnitOfWork, pool: Pool, at: datetime) -> list[tuple[uuid.UUID, Group | str]]:
            results: dict[uuid.UUID, Group | str] = {}
            initiatives: dict[uuid.UUID, Initiative] = {}
            asked = list(dict.fromkeys(initiative_ids))  # in the order asked, each once
            for initiative_id in asked:
                initiative = await uow.initiatives.find(initiative_id)
                if initiative is None or initiative.status != "accepted":
                    results[initiative_id] = "not an accepted initiative"
                elif (current := await uow.groups.live_for(initiative_id)) is not None:
                    results[initiative_id] = f"already has a {current.status.value} group"
                else:
                    initiatives[initiative_id] = initiative
            needs = [i.need for i in initiatives.values()]
            for need, outcome in propose_many(needs, pool, settings=self._solver):
                initiative = initiatives[need.initiative_id]
                if isinstance(outcome, Infeasible):
                    await uow.initiatives.set_problem(initiative.id, str(outcome))
                    results[initiative.id] = str(outcome)
                else:
                    results[initiative.id] = await self._store_proposal(uow, initiative, outcome, at)
            return [(i, results[i]) for i in asked]

        return await self._write(work)

    async def swap(self, group_id: uuid.UUID, resource_id: uuid.UUID, chosen: uuid.UUID | None) -> Group:
        async def work(uow: MatchingUnitOfWork, pool: Pool, at: datetime) -> Group:
            group = await uow.groups.get(group_id)
            initiative = await uow.initiatives.get(group.initiative_id)
            new = swap(group, initiative.need, pool.view(), resource_id, chosen, at)
            await uow.groups.save(group)
            await uow.resources.refresh_loads([resource_id, new.resource_id])
            return group

        return await self._write(work)

    async def remove(self, group_id: uuid.UUID, resource_id: uuid.UUID) -> Group:
        async def work(uow: MatchingUnitOfWork, pool: Pool, at: datetime) -> Group:
            group = await uow.groups.get(group_id)
            initiative = await uow.initiatives.get(group.initiative_id)
            remove(group, initiative.need, pool.view(), resource_id, at)
            await uow.groups.save(group)
            await uow.resources.refresh_loads([resource_id])
            return group

        return await self._write(work)
