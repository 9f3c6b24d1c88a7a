"""The sweep: unanswered invitations expire (they count as declined), open seats are filled and
initiatives still waiting are tried again. Each group and initiative is its own transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.matching.db import MatchingUnitOfWork, PoolCache
from services.matching.domain.formation import fill_vacancies
from services.matching.domain.group import GroupStatus, SeatStatus
from services.matching.domain.pool import Pool
from services.matching.domain.profiles import InitiativeStatus
from services.matching.domain.solver import Infeasible, SolverSettings
from services.matching.handlers.group_life import depart, form_if_ready, invite, locked_pool, log, propose_for
from services.matching.links import InvitationLinks
from shared.db import Clock


@dataclass(frozen=True)
class SweepGroups:
    """One round of the sweep; the handler returns how many invitations expired, seats were filled and
    groups were proposed."""


async def sweep_groups(
    _: SweepGroups,
    uow: MatchingUnitOfWork,
    pool: PoolCache,
    clock: Clock,
    links: InvitationLinks,
    invitation_validity: timedelta,
    solver: SolverSettings,
    public_url: str,
) -> dict[str, int]:
    counts = {"expired": 0, "filled": 0, "proposed": 0}
    async with uow:
        now = clock()
        expired_groups = await uow.groups.with_expired_invitations(now)
        confirmed = await uow.groups.confirmed()
        waiting = await uow.initiatives.waiting()
    for group_id in expired_groups:
        async with uow:
            current, at = await locked_pool(uow, pool), clock()
            counts["expired"] += await _expire(uow, current, group_id, at, at + invitation_validity, links)
            await uow.commit()
    for group_id in confirmed:
        async with uow:
            current, at = await locked_pool(uow, pool), clock()
            counts["filled"] += await _fill(uow, current, group_id, at, at + invitation_validity, links)
            await uow.commit()
    for initiative_id in waiting:
        async with uow:
            current, at = await locked_pool(uow, pool), clock()
            counts["proposed"] += await _retry(uow, current, initiative_id, at, solver, public_url)
            await uow.commit()
    if any(counts.values()):
        log.info("sweep.done", **counts)
    return counts


async def _expire(
    uow: MatchingUnitOfWork,
    pool: Pool,
    group_id: uuid.UUID,
    at: datetime,
    expires_at: datetime,
    links: InvitationLinks,
) -> int:
    group = await uow.groups.get(group_id)
    view = pool.view()
    expired = group.expired_invitations(at) if group.status is GroupStatus.CONFIRMED else []
    for seat in expired:
        await depart(uow, view, group, seat, SeatStatus.EXPIRED, at, expires_at=expires_at, links=links)
    return len(expired)


async def _fill(
    uow: MatchingUnitOfWork,
    pool: Pool,
    group_id: uuid.UUID,
    at: datetime,
    expires_at: datetime,
    links: InvitationLinks,
) -> int:
    group = await uow.groups.get(group_id)
    if group.status is not GroupStatus.CONFIRMED or not group.vacancies:
        return 0
    initiative = await uow.initiatives.get(group.initiative_id)
    added = fill_vacancies(group, initiative.need, pool.view(), at, expires_at)
    await uow.groups.save(group)
    await uow.resources.refresh_loads(s.resource_id for s in added)
    await invite(uow, group, initiative, added, links)
    await form_if_ready(uow, group, initiative, at)
    return len(added)


async def _retry(
    uow: MatchingUnitOfWork,
    pool: Pool,
    initiative_id: uuid.UUID,
    at: datetime,
    solver: SolverSettings,
    public_url: str,
) -> int:
    initiative = await uow.initiatives.get(initiative_id)
    if initiative.status is not InitiativeStatus.ACCEPTED or await uow.groups.live_for(initiative_id) is not None:
        return 0
    try:
        await propose_for(uow, pool, initiative, at, solver, public_url)
    except Infeasible:
        return 0
    return 1
