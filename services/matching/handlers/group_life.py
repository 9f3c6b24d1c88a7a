"""The steps of a group's life that several use cases take: propose (or tell coordinators once why no
group can be), invite, form, lose a member, end, and try the waiting initiatives again when someone may
have become free. And the one rule every writer keeps: take the pool lock first (see db/), then read the pool."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog

from services.matching.db import MatchingUnitOfWork, PoolCache
from services.matching.domain.blockage import Blockage
from services.matching.domain.formation import group_from_proposal, propose_many, replace
from services.matching.domain.group import Group, GroupStatus, Seat, SeatStatus
from services.matching.domain.pool import Pool, PoolView
from services.matching.domain.profiles import Initiative, InitiativeStatus
from services.matching.domain.solver import Infeasible, Proposal, SolverSettings, propose
from services.matching.handlers.contracts import member_of, originator_contact
from services.matching.links import Answer, InvitationLinks
from shared.contracts.groups import (
    GroupDissolved,
    GroupFormationBlocked,
    GroupFormed,
    GroupMember,
    GroupProposed,
    MemberDeclined,
    MemberInvited,
    MemberReplaced,
)
from shared.db import Clock
from shared.tracing import continued

log = structlog.get_logger("services.matching.handlers")


@dataclass(frozen=True)
class Forming:
    """What the use cases that form groups work with; bootstrap builds it, the bus injects it as `forming`."""

    pool: PoolCache  # the in-memory pool of this process
    clock: Clock
    links: InvitationLinks  # the invitations' accept and decline links
    web_url: str  # the web's public URL: the review links in the events open its staff console
    invitation_validity: timedelta = timedelta(days=7)  # an unanswered invitation then counts as declined
    solver: SolverSettings = field(default_factory=SolverSettings)
    # Starts the formation job's next round (jobs.propose_accepted): acceptances that arrive together are
    # proposed for as one batch. Bootstrap wires the job's wake; tests run the round themselves.
    wake_formation: Callable[[], None] = lambda: None

    def expiry(self, at: datetime) -> datetime:
        """When an invitation sent at `at` expires."""
        return at + self.invitation_validity


async def locked_pool(uow: MatchingUnitOfWork, forming: Forming) -> Pool:
    """Take the pool lock for this transaction; the pool then is exactly what is committed."""
    await uow.lock_pool()
    return await forming.pool.current()


async def own_pool(uow: MatchingUnitOfWork, forming: Forming) -> Pool:
    """The pool as this transaction has changed it so far: the committed pool (the lock is held, so
    nobody else changes it) with the people this transaction stamped applied to a copy."""
    version = await uow.lock_pool()
    committed = await forming.pool.current()
    mine = await uow.resources.changed_since(version - 1)
    if not mine:
        return committed
    changed = committed.copy()
    for resource in mine:
        changed.upsert(resource.candidate)
    return changed


def facts(group: Group, initiative: Initiative) -> dict[str, Any]:
    """The fields every group event carries."""
    return {
        "group_id": group.id,
        "initiative_id": initiative.id,
        "initiative_reference": initiative.reference,
        "initiative_title": initiative.title,
    }


async def members(uow: MatchingUnitOfWork, seats: Sequence[Seat]) -> tuple[GroupMember, ...]:
    """The seats' people as group events carry them."""
    people = await uow.resources.many(s.resource_id for s in seats)
    return tuple(member_of(s, people.get(s.resource_id)) for s in seats)


async def store_proposal(
    uow: MatchingUnitOfWork, initiative: Initiative, proposal: Proposal, at: datetime, forming: Forming
) -> Group:
    (group,) = await store_proposals(uow, [(initiative, proposal)], at, forming)
    return group


async def store_proposals(
    uow: MatchingUnitOfWork,
    proposed: Sequence[tuple[Initiative, Proposal]],
    at: datetime,
    forming: Forming,
    traces: Mapping[uuid.UUID, str | None] | None = None,
) -> list[Group]:
    """The proposals' groups stored, their members' load recounted and their initiatives' problems cleared
    together (a handful of statements however many), then one GroupProposed each, in its initiative's trace
    (`traces`, as stored with each acceptance) where one is known."""
    made = [(initiative, group_from_proposal(proposal, uuid.uuid4(), at)) for initiative, proposal in proposed]
    await uow.groups.add_many([group for _, group in made])
    members_of = [seat.resource_id for _, group in made for seat in group.members]
    await uow.resources.refresh_loads(members_of)
    await uow.initiatives.clear_problems(initiative.id for initiative, _ in made)
    people = await uow.resources.many(members_of)
    for initiative, group in made:
        with continued((traces or {}).get(initiative.id)):
            await uow.emit(
                GroupProposed(
                    **facts(group, initiative),
                    members=tuple(member_of(seat, people.get(seat.resource_id)) for seat in group.members),
                    uncovered_competences=tuple(c.value for c in group.uncovered),
                    review_url=f"{forming.web_url}/staff/groups/{group.id}",
                )
            )
        log.info("group.proposed", group_id=str(group.id), initiative_id=str(initiative.id), solver=group.solver)
    return [group for _, group in made]


async def blocked(uow: MatchingUnitOfWork, initiative: Initiative, blockage: Blockage, forming: Forming) -> None:
    """Record why no group can be proposed yet; coordinators are told once per distinct reason (again
    when what is lacking changed, or after a group was proposed in between)."""
    await uow.initiatives.set_problem(initiative.id, blockage)
    log.info("group.infeasible", initiative_id=str(initiative.id), reason=blockage.text)
    if blockage.same_reason(initiative.blockage):
        return
    await uow.emit(
        GroupFormationBlocked(
            initiative_id=initiative.id,
            initiative_reference=initiative.reference,
            initiative_title=initiative.title,
            missing=tuple(lack.value for lack in blockage.missing),
            people_needed=blockage.people_needed,
            people_free=blockage.people_free,
            missing_competences=tuple(c.value for c in blockage.missing_competences),
            review_url=f"{forming.web_url}/staff/initiatives/{initiative.id}",
        )
    )


async def propose_for(
    uow: MatchingUnitOfWork, pool: Pool, initiative: Initiative, at: datetime, forming: Forming
) -> Group:
    """Propose a group, or record why none can be formed yet (someone coming free or the sweep tries
    again) and raise. `initiative` as stored: what coordinators were last told is on it."""
    try:
        proposal = propose(initiative.need, pool.view(), settings=forming.solver)
    except Infeasible as refused:
        await blocked(uow, initiative, refused.blockage, forming)
        raise
    return await store_proposal(uow, initiative, proposal, at, forming)


async def propose_together(
    uow: MatchingUnitOfWork, pool: Pool, initiatives: Sequence[Initiative], at: datetime, forming: Forming
) -> dict[uuid.UUID, Group | Infeasible]:
    """Groups for several initiatives sharing the pool's capacity (see formation.propose_many); those the
    pool cannot serve are recorded as blocked."""
    by_id = {i.id: i for i in initiatives}
    outcomes: dict[uuid.UUID, Group | Infeasible] = {}
    # The solver works off the event loop, so HTTP and the consumers' I/O go on meanwhile. The pool lock is
    # held: nobody commits a change to the pool, so the in-memory pool stays as it is while the thread reads it.
    formed = await asyncio.to_thread(propose_many, [i.need for i in initiatives], pool, settings=forming.solver)
    traces = await uow.initiatives.traces(by_id)
    proposed: list[tuple[Initiative, Proposal]] = []
    for need, outcome in formed:
        initiative = by_id[need.initiative_id]
        if isinstance(outcome, Infeasible):
            with continued(traces.get(initiative.id)):  # what is emitted for it stays in its acceptance's trace
                await blocked(uow, initiative, outcome.blockage, forming)
            outcomes[initiative.id] = outcome
        else:
            proposed.append((initiative, outcome))
    for group in await store_proposals(uow, proposed, at, forming, traces):
        outcomes[group.initiative_id] = group
    return outcomes


async def retry_waiting(uow: MatchingUnitOfWork, forming: Forming, at: datetime) -> int:
    """Someone may have come free (registered, resumed, more capacity, a seat let go): the initiatives
    still waiting are tried again now, in this transaction, with its own changes to the pool seen. The
    sweep stays the fallback. Returns how many groups were proposed."""
    waiting = []
    for initiative_id in await uow.initiatives.waiting():
        initiative = await uow.initiatives.get(initiative_id)
        if initiative.status is InitiativeStatus.ACCEPTED and await uow.groups.live_for(initiative_id) is None:
            waiting.append(initiative)
    if not waiting:
        return 0
    outcomes = await propose_together(uow, await own_pool(uow, forming), waiting, at, forming)
    proposed = sum(isinstance(o, Group) for o in outcomes.values())
    if proposed:
        log.info("waiting.proposed", proposed=proposed, waiting=len(waiting))
    return proposed


async def invite(
    uow: MatchingUnitOfWork, group: Group, initiative: Initiative, seats: list[Seat], forming: Forming
) -> None:
    for seat, member in zip(seats, await members(uow, seats), strict=True):
        assert seat.expires_at is not None
        await uow.emit(
            MemberInvited(
                **facts(group, initiative),
                member=member,
                initiative_summary=initiative.summary,
                accept_url=forming.links.url(seat.id, Answer.ACCEPT),
                decline_url=forming.links.url(seat.id, Answer.DECLINE),
                expires_at=seat.expires_at,
            )
        )


async def form_if_ready(uow: MatchingUnitOfWork, group: Group, initiative: Initiative, at: datetime) -> None:
    if not group.ready_to_form():
        return
    group.form(at)
    await uow.groups.save(group)
    formed = (*originator_contact(initiative), *await members(uow, group.members))
    await uow.emit(GroupFormed(**facts(group, initiative), members=formed))
    log.info("group.formed", group_id=str(group.id), members=len(group.members))


async def depart(
    uow: MatchingUnitOfWork,
    view: PoolView,
    group: Group,
    seat: Seat,
    reason: SeatStatus,
    at: datetime,
    forming: Forming,
) -> None:
    """A member leaves: the best replacement is invited (until `forming.expiry(at)`) or proposed; the group
    forms if it now can."""
    initiative = await uow.initiatives.get(group.initiative_id)
    leaving = None if reason is SeatStatus.ERASED else await uow.resources.find(seat.resource_id)
    if group.status is GroupStatus.FORMED:  # only erasure reaches a formed group: it keeps its other members
        group.leave(seat.id, reason, at)
        await uow.groups.save(group)
        await uow.resources.refresh_loads([seat.resource_id])
        return
    was_confirmed = group.status is GroupStatus.CONFIRMED
    departure = replace(group, initiative.need, view, seat, reason, at, forming.expiry(at))
    await uow.groups.save(group)
    new = departure.replacement
    await uow.resources.refresh_loads([seat.resource_id, *([new.resource_id] if new else [])])
    log.info("member.left", group_id=str(group.id), reason=reason.value, replaced=new is not None)
    if not was_confirmed:
        return
    previous = member_of(seat, leaving)
    await uow.emit(MemberDeclined(**facts(group, initiative), member=previous, reason=reason.value))
    if new is not None:
        (replacement,) = await members(uow, [new])
        await uow.emit(MemberReplaced(**facts(group, initiative), previous=previous, replacement=replacement))
        await invite(uow, group, initiative, [new], forming)
    await form_if_ready(uow, group, initiative, at)


async def ended(uow: MatchingUnitOfWork, group: Group, initiative: Initiative) -> None:
    """The group was just closed or dissolved: its members' load falls and everyone hears why."""
    assert group.ended_reason is not None
    await uow.groups.save(group)
    await uow.resources.refresh_loads(s.resource_id for s in group.members)
    await uow.emit(GroupDissolved(**facts(group, initiative), reason=group.ended_reason))
