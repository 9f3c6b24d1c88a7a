"""What matching consumes: keep the initiatives and the pool in step with intake and resources, and act
on them. Each handler runs in the consumer's unit of work (it opens and commits it, with the event's
processed mark); like every writer, a handler takes the pool lock first."""

from __future__ import annotations

import contextlib
import uuid
from datetime import timedelta

from services.matching.db import MatchingUnitOfWork, PoolCache
from services.matching.domain.group import GroupStatus, SeatStatus
from services.matching.domain.profiles import InitiativeStatus
from services.matching.domain.solver import Infeasible, SolverSettings
from services.matching.handlers.contracts import initiative_of, resource_of
from services.matching.handlers.group_life import depart, ended, locked_pool, propose_for
from services.matching.links import InvitationLinks
from shared.contracts import Envelope
from shared.contracts.initiatives import InitiativeAccepted, InitiativeClosed, InitiativeEvent, InitiativeWithdrawn
from shared.contracts.resources import ResourceErased, ResourceRegistered, ResourceUpdated, ResourceWithdrawn
from shared.db import Clock


async def on_initiative_accepted(
    event: InitiativeAccepted,
    uow: MatchingUnitOfWork,
    _: Envelope,
    pool: PoolCache,
    clock: Clock,
    solver: SolverSettings,
    public_url: str,
) -> None:
    current = await locked_pool(uow, pool)
    at = clock()
    initiative = initiative_of(event, InitiativeStatus.ACCEPTED)
    await uow.initiatives.upsert(initiative, at)
    if await uow.groups.live_for(initiative.id) is not None:
        return  # the same acceptance again: one proposal is enough
    with contextlib.suppress(Infeasible):  # recorded on the initiative; the sweep tries again later
        await propose_for(uow, current, initiative, at, solver, public_url)


async def on_initiative_withdrawn(
    event: InitiativeWithdrawn, uow: MatchingUnitOfWork, _: Envelope, clock: Clock
) -> None:
    await _initiative_ended(uow, event, InitiativeStatus.WITHDRAWN, clock)


async def on_initiative_closed(event: InitiativeClosed, uow: MatchingUnitOfWork, _: Envelope, clock: Clock) -> None:
    await _initiative_ended(uow, event, InitiativeStatus.CLOSED, clock)


async def _initiative_ended(
    uow: MatchingUnitOfWork, event: InitiativeEvent, status: InitiativeStatus, clock: Clock
) -> None:
    """Its live group ends: closed (dissolved if it never formed) or, when withdrawn, dissolved."""
    await uow.lock_pool()
    if await uow.initiatives.find(event.initiative_id) is None:
        return  # never accepted: matching never knew it
    at = clock()
    initiative = initiative_of(event, status)
    await uow.initiatives.upsert(initiative, at)
    group = await uow.groups.live_for(initiative.id)
    if group is None:
        return
    finished = group.close(at) if status is InitiativeStatus.CLOSED else group.dissolve(f"initiative {status}", at)
    if finished:
        await ended(uow, group, initiative)


async def on_resource_registered(event: ResourceRegistered, uow: MatchingUnitOfWork, _: Envelope, clock: Clock) -> None:
    await uow.resources.upsert(resource_of(event, active=True), clock())


async def on_resource_updated(event: ResourceUpdated, uow: MatchingUnitOfWork, _: Envelope, clock: Clock) -> None:
    await uow.resources.upsert(resource_of(event, active=event.active), clock())


async def on_resource_withdrawn(
    event: ResourceWithdrawn,
    uow: MatchingUnitOfWork,
    _: Envelope,
    pool: PoolCache,
    clock: Clock,
    links: InvitationLinks,
    invitation_validity: timedelta,
) -> None:
    await _leave_everywhere(uow, event.resource_id, SeatStatus.WITHDRAWN, pool, clock, links, invitation_validity)


async def on_resource_erased(
    event: ResourceErased,
    uow: MatchingUnitOfWork,
    _: Envelope,
    pool: PoolCache,
    clock: Clock,
    links: InvitationLinks,
    invitation_validity: timedelta,
) -> None:
    await _leave_everywhere(uow, event.resource_id, SeatStatus.ERASED, pool, clock, links, invitation_validity)
    await uow.resources.erase(event.resource_id)


async def _leave_everywhere(
    uow: MatchingUnitOfWork,
    resource_id: uuid.UUID,
    reason: SeatStatus,
    pool: PoolCache,
    clock: Clock,
    links: InvitationLinks,
    invitation_validity: timedelta,
) -> None:
    """The person leaves every group still forming; erasure takes them out of formed groups too."""
    current = await locked_pool(uow, pool)
    at = clock()
    await uow.resources.deactivate(resource_id, at)
    statuses = [GroupStatus.PROPOSED, GroupStatus.CONFIRMED]
    if reason is SeatStatus.ERASED:
        statuses.append(GroupStatus.FORMED)
    view = current.view()
    for group in await uow.groups.holding(resource_id, statuses):
        seat = group.seat_of(resource_id)
        await depart(uow, view, group, seat, reason, at, expires_at=at + invitation_validity, links=links)
