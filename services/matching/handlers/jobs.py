"""The sweep: unanswered invitations expire (they count as declined), open seats are filled and
initiatives still waiting are tried again, in that order (so whom an expiry lets go goes to the open
seats first, then to those waiting, in the same round). Each group and initiative is its own
transaction. Everything else that lets someone go retries the waiting initiatives at once; the sweep
is their fallback."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.matching.db import MatchingUnitOfWork
from services.matching.domain.formation import fill_vacancies
from services.matching.domain.group import GroupStatus, SeatStatus
from services.matching.domain.pool import Pool
from services.matching.domain.profiles import InitiativeStatus
from services.matching.domain.solver import Infeasible
from services.matching.handlers.group_life import (
    Forming,
    depart,
    form_if_ready,
    invite,
    locked_pool,
    log,
    propose_for,
    propose_together,
)


@dataclass(frozen=True)
class ProposeAccepted:
    """One round of the formation job: every accepted initiative that has never had a group is proposed
    for, all together in one transaction (see group_life.propose_together); returns how many were tried."""


async def propose_accepted(_: ProposeAccepted, uow: MatchingUnitOfWork, forming: Forming) -> int:
    async with uow:
        # The lock first: an acceptance wakes the job before its transaction commits, so the round waits for it.
        await uow.lock_pool()
        pending = await uow.initiatives.awaiting_first_proposal()
        if not pending:
            return 0  # without bringing the in-memory pool up to date (a replay changes it fast)
        current = await forming.pool.current()
        outcomes = await propose_together(uow, current, pending, forming.clock(), forming)
        await uow.commit()
    proposed = sum(not isinstance(o, Infeasible) for o in outcomes.values())
    log.info("accepted.proposed", initiatives=len(pending), proposed=proposed)
    return len(pending)


@dataclass(frozen=True)
class SweepGroups:
    """One round of the sweep; the handler returns how many invitations expired, seats were filled and
    groups were proposed."""


async def sweep_groups(_: SweepGroups, uow: MatchingUnitOfWork, forming: Forming) -> dict[str, int]:
    counts = {"expired": 0, "filled": 0, "proposed": 0}
    async with uow:
        now = forming.clock()
        expired_groups = await uow.groups.with_expired_invitations(now)
        confirmed = await uow.groups.confirmed()
        waiting = await uow.initiatives.waiting()
    steps = [(_expire, expired_groups, "expired"), (_fill, confirmed, "filled"), (_retry, waiting, "proposed")]
    for step, ids, counted in steps:
        for id_ in ids:
            async with uow:
                current, at = await locked_pool(uow, forming), forming.clock()
                counts[counted] += await step(uow, current, id_, at, forming)
                await uow.commit()
    if any(counts.values()):
        log.info("sweep.done", **counts)
    return counts


async def _expire(uow: MatchingUnitOfWork, pool: Pool, group_id: uuid.UUID, at: datetime, forming: Forming) -> int:
    group = await uow.groups.get(group_id)
    view = pool.view()
    expired = group.expired_invitations(at) if group.status is GroupStatus.CONFIRMED else []
    for seat in expired:
        await depart(uow, view, group, seat, SeatStatus.EXPIRED, at, forming)
    return len(expired)  # whoever let it lapse has room again: first for the vacancies, then for those waiting


async def _fill(uow: MatchingUnitOfWork, pool: Pool, group_id: uuid.UUID, at: datetime, forming: Forming) -> int:
    group = await uow.groups.get(group_id)
    if group.status is not GroupStatus.CONFIRMED or not group.vacancies:
        return 0
    initiative = await uow.initiatives.get(group.initiative_id)
    added = fill_vacancies(group, initiative.need, pool.view(), at, forming.expiry(at))
    await uow.groups.save(group)
    await uow.resources.refresh_loads(s.resource_id for s in added)
    await invite(uow, group, initiative, added, forming)
    await form_if_ready(uow, group, initiative, at)
    return len(added)


async def _retry(uow: MatchingUnitOfWork, pool: Pool, initiative_id: uuid.UUID, at: datetime, forming: Forming) -> int:
    initiative = await uow.initiatives.get(initiative_id)
    if initiative.status is not InitiativeStatus.ACCEPTED or await uow.groups.live_for(initiative_id) is not None:
        return 0
    try:
        await propose_for(uow, pool, initiative, at, forming)
    except Infeasible:
        return 0
    return 1


@dataclass(frozen=True)
class PurgeSentEvents:
    """Delete matching's outbox rows published more than `keep` ago: group events carry the members' and
    the originator's contact details, which must not outlive their delivery to Kafka by days."""

    keep: timedelta


async def purge_sent_events(command: PurgeSentEvents, uow: MatchingUnitOfWork, forming: Forming) -> int:
    async with uow:
        purged = await uow.sent_events.purge_published(forming.clock() - command.keep)
        await uow.commit()
    if purged:
        log.info("outbox.purged", count=purged)
    return purged
