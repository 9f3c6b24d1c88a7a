"""Consumed events: keep the initiatives and the pool in step with intake and resources, and act on them."""

from __future__ import annotations

import contextlib
import uuid

from services.matching.db import MatchingUnitOfWork
from services.matching.domain.group import GroupStatus, SeatStatus
from services.matching.domain.solver import Infeasible
from services.matching.event_mapping import initiative_of, resource_of
from services.matching.handlers.base import HandlerBase
from shared.contracts import Envelope
from shared.contracts.initiatives import InitiativeAccepted, InitiativeClosed, InitiativeEvent, InitiativeWithdrawn
from shared.contracts.resources import ResourceErased, ResourceRegistered, ResourceUpdated, ResourceWithdrawn


class ProjectionHandlers(HandlerBase):
    async def on_initiative_accepted(self, uow: MatchingUnitOfWork, event: InitiativeAccepted, _: Envelope) -> None:
        pool = await self._locked_pool(uow)
        at = self._clock()
        initiative = initiative_of(event, "accepted")
        await uow.initiatives.upsert(initiative, at)
        if await uow.groups.live_for(initiative.id) is not None:
            return  # the same acceptance again: one proposal is enough
        with contextlib.suppress(Infeasible):  # recorded on the initiative; the sweep tries again later
            await self._propose(uow, pool, initiative, at)

    async def on_initiative_withdrawn(self, uow: MatchingUnitOfWork, event: InitiativeWithdrawn, _: Envelope) -> None:
        await self._initiative_ended(uow, event, "withdrawn")

    async def on_initiative_closed(self, uow: MatchingUnitOfWork, event: InitiativeClosed, _: Envelope) -> None:
        await self._initiative_ended(uow, event, "closed")

    async def _initiative_ended(self, uow: MatchingUnitOfWork, event: InitiativeEvent, status: str) -> None:
        """Its live group ends: closed (dissolved if it never formed) or, when withdrawn, dissolved."""
        await uow.lock_pool()
        if await uow.initiatives.find(event.initiative_id) is None:
            return  # never accepted: matching never knew it
        at = self._clock()
        initiative = initiative_of(event, status)
        await uow.initiatives.upsert(initiative, at)
        group = await uow.groups.live_for(initiative.id)
        if group is None:
            return
        ended = group.close(at) if status == "closed" else group.dissolve(f"initiative {status}", at)
        if ended:
            await self._ended(uow, group, initiative)

    async def on_resource_registered(self, uow: MatchingUnitOfWork, event: ResourceRegistered, _: Envelope) -> None:
        await uow.resources.upsert(resource_of(event, active=True), self._clock())

    async def on_resource_updated(self, uow: MatchingUnitOfWork, event: ResourceUpdated, _: Envelope) -> None:
        await uow.resources.upsert(resource_of(event, active=event.active), self._clock())

    async def on_resource_withdrawn(self, uow: MatchingUnitOfWork, event: ResourceWithdrawn, _: Envelope) -> None:
        await self._leave_everywhere(uow, event.resource_id, SeatStatus.WITHDRAWN)

    async def on_resource_erased(self, uow: MatchingUnitOfWork, event: ResourceErased, _: Envelope) -> None:
        await self._leave_everywhere(uow, event.resource_id, SeatStatus.ERASED)
        await uow.resources.erase(event.resource_id)

    async def _leave_everywhere(self, uow: MatchingUnitOfWork, resource_id: uuid.UUID, reason: SeatStatus) -> None:
        """The person leaves every group still forming; erasure takes them out of formed groups too."""
        pool = await self._locked_pool(uow)
        at = self._clock()
        await uow.resources.deactivate(resource_id, at)
        statuses = [GroupStatus.PROPOSED, GroupStatus.CONFIRMED]
        if reason is SeatStatus.ERASED:
            statuses.append(GroupStatus.FORMED)
        view = pool.view()
        for group in await uow.groups.holding(resource_id, statuses):
            await self._depart(uow, view, group, group.seat_of(resource_id), reason, at)
