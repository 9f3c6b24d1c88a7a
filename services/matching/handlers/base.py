"""What matching's use cases share: a unit of work under the pool lock (every writer takes it first, see
db/), and the steps of a group's life that several use cases take: propose, invite, form, lose a member, end."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

import structlog

from services.matching.db import MatchingUnitOfWork, PoolCache
from services.matching.domain.formation import group_from_proposal, replace
from services.matching.domain.group import Group, GroupStatus, Seat, SeatStatus
from services.matching.domain.pool import Pool, PoolView
from services.matching.domain.profiles import Initiative
from services.matching.domain.solver import Infeasible, Proposal, SolverSettings, propose
from services.matching.event_mapping import member_of, originator_contact
from services.matching.links import Answer, InvitationLinks
from shared.contracts.groups import (
    GroupDissolved,
    GroupFormed,
    GroupMember,
    GroupProposed,
    MemberDeclined,
    MemberInvited,
    MemberReplaced,
)

log = structlog.get_logger("services.matching.handlers")
T = TypeVar("T")


def facts(group: Group, initiative: Initiative) -> dict[str, Any]:
    """The fields every group event carries."""
    return {
        "group_id": group.id,
        "initiative_id": initiative.id,
        "initiative_reference": initiative.reference,
        "initiative_title": initiative.title,
    }


class HandlerBase:
    def __init__(
        self,
        uow_factory: Callable[[], MatchingUnitOfWork],
        pool: PoolCache,
        links: InvitationLinks,
        clock: Callable[[], datetime],
        *,
        public_url: str,
        invitation_days: int,
        solver: SolverSettings,
    ) -> None:
        self._uow = uow_factory
        self._pool = pool
        self._links = links
        self._clock = clock
        self._public_url = public_url.rstrip("/")
        self._invitation_validity = timedelta(days=invitation_days)
        self._solver = solver

    # --- plumbing ------------------------------------------------------------------------------------

    async def _locked_pool(self, uow: MatchingUnitOfWork) -> Pool:
        await uow.lock_pool()
        return await self._pool.current()

    async def _write(self, work: Callable[[MatchingUnitOfWork, Pool, datetime], Awaitable[T]]) -> T:
        async with self._uow() as uow:
            pool = await self._locked_pool(uow)
            result = await work(uow, pool, self._clock())
            await uow.commit()
            return result

    async def _members(self, uow: MatchingUnitOfWork, seats: Sequence[Seat]) -> tuple[GroupMember, ...]:
        people = await uow.resources.many(s.resource_id for s in seats)
        return tuple(member_of(s, people.get(s.resource_id)) for s in seats)

    # --- a group's life ------------------------------------------------------------------------------

    async def _store_proposal(
        self, uow: MatchingUnitOfWork, initiative: Initiative, proposal: Proposal, at: datetime
    ) -> Group:
        group = group_from_proposal(proposal, uuid.uuid4(), at)
        await uow.groups.add(group)
        await uow.resources.refresh_loads(m.id for m in proposal.members)
        await uow.initiatives.set_problem(initiative.id, None)
        await uow.emit(
            GroupProposed(
                **facts(group, initiative),
                members=await self._members(uow, group.members),
                uncovered_competences=tuple(c.value for c in group.uncovered),
                review_url=f"{self._public_url}/api/v1/groups/{group.id}",
            )
        )
        log.info("group.proposed", group_id=str(group.id), initiative_id=str(initiative.id), solver=group.solver)
        return group

    async def _propose(self, uow: MatchingUnitOfWork, pool: Pool, initiative: Initiative, at: datetime) -> Group:
        """Propose a group, or record why none can be formed yet (the sweep tries again) and raise."""
        try:
            proposal = propose(initiative.need, pool.view(), settings=self._solver)
        except Infeasible as refused:
            await uow.initiatives.set_problem(initiative.id, str(refused))
            log.info("group.infeasible", initiative_id=str(initiative.id), reason=str(refused))
            raise
        return await self._store_proposal(uow, initiative, proposal, at)

    async def _invite(self, uow: MatchingUnitOfWork, group: Group, initiative: Initiative, seats: list[Seat]) -> None:
        for seat, member in zip(seats, await self._members(uow, seats), strict=True):
            assert seat.expires_at is not None
            await uow.emit(
                MemberInvited(
                    **facts(group, initiative),
                    member=member,
                    initiative_summary=initiative.summary,
                    accept_url=self._links.url(seat.id, Answer.ACCEPT),
                    decline_url=self._links.url(seat.id, Answer.DECLINE),
                    expires_at=seat.expires_at,
                )
            )

    async def _form_if_ready(self, uow: MatchingUnitOfWork, group: Group, initiative: Initiative, at: datetime) -> None:
        if not group.ready_to_form():
            return
        group.form(at)
        await uow.groups.save(group)
        members = (originator_contact(initiative), *await self._members(uow, group.members))
        await uow.emit(GroupFormed(**facts(group, initiative), members=members))
        log.info("group.formed", group_id=str(group.id), members=len(group.members))

    async def _depart(
        self, uow: MatchingUnitOfWork, view: PoolView, group: Group, seat: Seat, reason: SeatStatus, at: datetime
    ) -> None:
        """A member leaves: the best replacement is invited (or proposed); the group forms if it now can."""
        initiative = await uow.initiatives.get(group.initiative_id)
        leaving = None if reason is SeatStatus.ERASED else await uow.resources.find(seat.resource_id)
        if group.status is GroupStatus.FORMED:  # only erasure reaches a formed group: it keeps its other members
            group.leave(seat.id, reason, at)
            await uow.groups.save(group)
            await uow.resources.refresh_loads([seat.resource_id])
            return
        was_confirmed = group.status is GroupStatus.CONFIRMED
        departure = replace(group, initiative.need, view, seat, reason, at, at + self._invitation_validity)
        await uow.groups.save(group)
        new = departure.replacement
        await uow.resources.refresh_loads([seat.resource_id, *([new.resource_id] if new else [])])
        log.info("member.left", group_id=str(group.id), reason=reason.value, replaced=new is not None)
        if not was_confirmed:
            return
        previous = member_of(seat, leaving)
        await uow.emit(MemberDeclined(**facts(group, initiative), member=previous, reason=reason.value))
        if new is not None:
            (replacement,) = await self._members(uow, [new])
            await uow.emit(MemberReplaced(**facts(group, initiative), previous=previous, replacement=replacement))
            await self._invite(uow, group, initiative, [new])
        await self._form_if_ready(uow, group, initiative, at)

    async def _ended(self, uow: MatchingUnitOfWork, group: Group, initiative: Initiative) -> None:
        """The group was just closed or dissolved: its members' load falls and everyone hears why."""
        assert group.ended_reason is not None
        await uow.groups.save(group)
        await uow.resources.refresh_loads(s.resource_id for s in group.members)
        await uow.emit(GroupDissolved(**facts(group, initiative), reason=group.ended_reason))
