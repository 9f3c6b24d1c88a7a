"""Matching's use cases: keep the projections, propose groups, let coordinators steer them, take the
members' answers, and replace whoever leaves. Every writer takes the pool lock first (see db.py)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any, TypeVar

import structlog

from services.matching.db import MatchingUnitOfWork, PoolCache
from services.matching.domain.formation import (
    fill_vacancies,
    group_from_proposal,
    propose_many,
    remove,
    replace,
    replacements,
    swap,
)
from services.matching.domain.group import Group, GroupStatus, Seat, SeatStatus
from services.matching.domain.pool import Pool, PoolView
from services.matching.domain.profiles import Initiative, Resource
from services.matching.domain.rules import Explanation, explain
from services.matching.domain.solver import Infeasible, Proposal, SolverSettings, propose
from services.matching.event_mapping import initiative_of, member_of, originator_contact, resource_of
from services.matching.links import Answer, InvitationLinks
from shared.contracts import Envelope
from shared.contracts.groups import (
    GroupConfirmed,
    GroupDissolved,
    GroupFormed,
    GroupMember,
    GroupProposed,
    MemberAccepted,
    MemberDeclined,
    MemberInvited,
    MemberReplaced,
)
from shared.contracts.initiatives import InitiativeAccepted, InitiativeClosed, InitiativeEvent, InitiativeWithdrawn
from shared.contracts.resources import ResourceErased, ResourceRegistered, ResourceUpdated, ResourceWithdrawn
from shared.errors import InvalidTransition

log = structlog.get_logger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class GroupDetails:
    """A group with what coordinators need to read it: the initiative and the people in its seats."""

    group: Group
    initiative: Initiative | None
    people: dict[uuid.UUID, Resource]


@dataclass(frozen=True)
class InvitationDetails:
    seat: Seat
    group_status: GroupStatus
    initiative: Initiative
    answer: Answer
    person: Resource | None


class MatchingHandlers:
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

    def _facts(self, group: Group, initiative: Initiative) -> dict[str, Any]:
        return {
            "group_id": group.id,
            "initiative_id": initiative.id,
            "initiative_reference": initiative.reference,
            "initiative_title": initiative.title,
        }

    async def _members(self, uow: MatchingUnitOfWork, seats: Sequence[Seat]) -> tuple[GroupMember, ...]:
        people = await uow.resources.many(s.resource_id for s in seats)
        return tuple(member_of(s, people.get(s.resource_id)) for s in seats)

    def review_url(self, group_id: uuid.UUID) -> str:
        return f"{self._public_url}/api/v1/groups/{group_id}"

    async def _store_proposal(
        self, uow: MatchingUnitOfWork, initiative: Initiative, proposal: Proposal, at: datetime
    ) -> Group:
        group = group_from_proposal(proposal, uuid.uuid4(), at)
        await uow.groups.add(group)
        await uow.resources.refresh_loads(m.id for m in proposal.members)
        await uow.initiatives.set_problem(initiative.id, None)
        await uow.emit(
            GroupProposed(
                **self._facts(group, initiative),
                members=await self._members(uow, group.members),
                uncovered_competences=tuple(c.value for c in group.uncovered),
                review_url=self.review_url(group.id),
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
                    **self._facts(group, initiative),
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
        await uow.emit(GroupFormed(**self._facts(group, initiative), members=members))
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
        await uow.emit(MemberDeclined(**self._facts(group, initiative), member=previous, reason=reason.value))
        if new is not None:
            (replacement,) = await self._members(uow, [new])
            await uow.emit(MemberReplaced(**self._facts(group, initiative), previous=previous, replacement=replacement))
            await self._invite(uow, group, initiative, [new])
        await self._form_if_ready(uow, group, initiative, at)

    async def _end_group(self, uow: MatchingUnitOfWork, initiative: Initiative, reason: str, at: datetime) -> None:
        group = await uow.groups.live_for(initiative.id)
        if group is None:
            return
        ended = group.close(at) if reason == "initiative closed" else group.dissolve(reason, at)
        if not ended:
            return
        await uow.groups.save(group)
        await uow.resources.refresh_loads(s.resource_id for s in group.members)
        await uow.emit(GroupDissolved(**self._facts(group, initiative), reason=reason))

    # --- consumed events: projections ----------------------------------------------------------------

    async def on_initiative_accepted(self, uow: MatchingUnitOfWork, event: InitiativeAccepted, _: Envelope) -> None:
        pool = await self._locked_pool(uow)
        initiative = initiative_of(event, "accepted")
        await uow.initiatives.upsert(initiative, self._clock())
        if await uow.groups.live_for(initiative.id) is not None:
            return  # the same acceptance again: one proposal is enough
        with contextlib.suppress(Infeasible):  # recorded on the initiative; the sweep tries again later
            await self._propose(uow, pool, initiative, self._clock())

    async def on_initiative_withdrawn(self, uow: MatchingUnitOfWork, event: InitiativeWithdrawn, _: Envelope) -> None:
        await self._initiative_ended(uow, event, "withdrawn", "initiative withdrawn")

    async def on_initiative_closed(self, uow: MatchingUnitOfWork, event: InitiativeClosed, _: Envelope) -> None:
        await self._initiative_ended(uow, event, "closed", "initiative closed")

    async def _initiative_ended(
        self, uow: MatchingUnitOfWork, event: InitiativeEvent, status: str, reason: str
    ) -> None:
        await uow.lock_pool()
        if await uow.initiatives.find(event.initiative_id) is None:
            return  # never accepted: matching never knew it
        initiative = initiative_of(event, status)
        await uow.initiatives.upsert(initiative, self._clock())
        await self._end_group(uow, initiative, reason, self._clock())

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
        pool = await self._locked_pool(uow)
        at = self._clock()
        await uow.resources.deactivate(resource_id, at)
        statuses = [GroupStatus.PROPOSED, GroupStatus.CONFIRMED]
        if reason is SeatStatus.ERASED:
            statuses.append(GroupStatus.FORMED)
        view = pool.view()
        for group in await uow.groups.holding(resource_id, statuses):
            await self._depart(uow, view, group, group.seat_of(resource_id), reason, at)

    # --- coordinators --------------------------------------------------------------------------------

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
                await uow.groups.save(current)
                await uow.resources.refresh_loads(s.resource_id for s in current.members)
                await uow.emit(
                    GroupDissolved(**self._facts(current, initiative), reason="superseded by a new proposal")
                )
            return await self._store_proposal(uow, initiative, proposal, at)

        return await self._write(work)

    async def propose_batch(self, initiative_ids: Sequence[uuid.UUID]) -> list[tuple[uuid.UUID, Group | str]]:
        """Groups for several initiatives at once, sharing capacity (see formation.propose_many)."""

        async def work(uow: MatchingUnitOfWork, pool: Pool, at: datetime) -> list[tuple[uuid.UUID, Group | str]]:
            results: dict[uuid.UUID, Group | str] = {}
            initiatives: dict[uuid.UUID, Initiative] = {}
            for initiative_id in dict.fromkeys(initiative_ids):
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
            return [(i, results[i]) for i in dict.fromkeys(initiative_ids)]

        return await self._write(work)

    async def confirm(self, group_id: uuid.UUID, by: str) -> Group:
        async def work(uow: MatchingUnitOfWork, _: Pool, at: datetime) -> Group:
            group = await uow.groups.get(group_id)
            initiative = await uow.initiatives.get(group.initiative_id)
            invited = group.confirm(by, at, at + self._invitation_validity)
            await uow.groups.save(group)
            members = await self._members(uow, group.members)
            await uow.emit(GroupConfirmed(**self._facts(group, initiative), members=members, confirmed_by=by))
            await self._invite(uow, group, initiative, invited)
            log.info("group.confirmed", group_id=str(group.id))
            return group

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

    async def suggestions(
        self, group_id: uuid.UUID, resource_id: uuid.UUID, n: int
    ) -> list[tuple[Resource, Explanation]]:
        """The best people to take this member's seat, best first (nothing changes)."""
        async with self._uow() as uow:
            group = await uow.groups.get(group_id)
            group.seat_of(resource_id)
            initiative = await uow.initiatives.get(group.initiative_id)
            view = (await self._pool.current()).view()
            remaining = [c for s in group.members if s.resource_id != resource_id and (c := view.get(s.resource_id))]
            found = replacements(initiative.need, view, remaining, group.ever_seated, n)
            people = await uow.resources.many(c.id for c in found)
        return [(people[c.id], explain(initiative.need, c)) for c in found if c.id in people]

    async def details(self, group: Group, uow: MatchingUnitOfWork) -> GroupDetails:
        initiative = await uow.initiatives.find(group.initiative_id)
        return GroupDetails(group, initiative, await uow.resources.many(s.resource_id for s in group.seats))

    async def group(self, group_id: uuid.UUID) -> GroupDetails:
        async with self._uow() as uow:
            return await self.details(await uow.groups.get(group_id), uow)

    async def groups(
        self, initiative_id: uuid.UUID | None, status: GroupStatus | None, limit: int, offset: int
    ) -> tuple[list[GroupDetails], int]:
        async with self._uow() as uow:
            found, total = await uow.groups.search(initiative_id, status, limit, offset)
            return [await self.details(g, uow) for g in found], total

    async def initiative(self, initiative_id: uuid.UUID) -> tuple[Initiative, Group | None]:
        async with self._uow() as uow:
            return await uow.initiatives.get(initiative_id), await uow.groups.live_for(initiative_id)

    # --- invited members -----------------------------------------------------------------------------

    async def invitation(self, token: str) -> InvitationDetails:
        seat_id, answer = self._links.read(token)
        async with self._uow() as uow:
            group = await uow.groups.of_seat(seat_id)
            return InvitationDetails(
                group.seat(seat_id),
                group.status,
                await uow.initiatives.get(group.initiative_id),
                answer,
                await uow.resources.find(group.seat(seat_id).resource_id),
            )

    async def answer(self, token: str) -> InvitationDetails:
        """The button on the invitation page: accept or decline, once."""
        seat_id, answer = self._links.read(token)

        async def work(uow: MatchingUnitOfWork, pool: Pool, at: datetime) -> None:
            group = await uow.groups.of_seat(seat_id)
            seat = group.seat(seat_id)
            if seat.status is SeatStatus.INVITED and seat.expires_at is not None and seat.expires_at <= at:
                raise InvalidTransition("invitation", "expired", answer.value)
            initiative = await uow.initiatives.get(group.initiative_id)
            if answer is Answer.DECLINE:
                if group.status is not GroupStatus.CONFIRMED or seat.status is not SeatStatus.INVITED:
                    raise InvalidTransition("invitation", seat.status.value, "decline")
                await self._depart(uow, pool.view(), group, seat, SeatStatus.DECLINED, at)
                return
            group.accept(seat_id, at)
            await uow.groups.save(group)
            (member,) = await self._members(uow, [seat])
            await uow.emit(MemberAccepted(**self._facts(group, initiative), member=member))
            await self._form_if_ready(uow, group, initiative, at)

        await self._write(work)
        return await self.invitation(token)

    # --- the sweep -----------------------------------------------------------------------------------

    async def sweep(self) -> dict[str, int]:
        """Expire unanswered invitations (they count as declined), fill open seats, retry waiting initiatives."""
        counts = {"expired": 0, "filled": 0, "proposed": 0}
        async with self._uow() as uow:
            now = self._clock()
            expired_groups = await uow.groups.with_expired_invitations(now)
            confirmed = await uow.groups.confirmed()
            waiting = await uow.initiatives.waiting()
        for group_id in expired_groups:
            counts["expired"] += await self._write(partial(self._expire, group_id))
        for group_id in confirmed:
            counts["filled"] += await self._write(partial(self._fill, group_id))
        for initiative_id in waiting:
            counts["proposed"] += await self._write(partial(self._retry, initiative_id))
        if any(counts.values()):
            log.info("sweep.done", **counts)
        return counts

    async def _expire(self, group_id: uuid.UUID, uow: MatchingUnitOfWork, pool: Pool, at: datetime) -> int:
        group = await uow.groups.get(group_id)
        view = pool.view()
        expired = group.expired_invitations(at) if group.status is GroupStatus.CONFIRMED else []
        for seat in expired:
            await self._depart(uow, view, group, seat, SeatStatus.EXPIRED, at)
        return len(expired)

    async def _fill(self, group_id: uuid.UUID, uow: MatchingUnitOfWork, pool: Pool, at: datetime) -> int:
        group = await uow.groups.get(group_id)
        if group.status is not GroupStatus.CONFIRMED or not group.vacancies:
            return 0
        initiative = await uow.initiatives.get(group.initiative_id)
        added = fill_vacancies(group, initiative.need, pool.view(), at, at + self._invitation_validity)
        await uow.groups.save(group)
        await uow.resources.refresh_loads(s.resource_id for s in added)
        await self._invite(uow, group, initiative, added)
        await self._form_if_ready(uow, group, initiative, at)
        return len(added)

    async def _retry(self, initiative_id: uuid.UUID, uow: MatchingUnitOfWork, pool: Pool, at: datetime) -> int:
        initiative = await uow.initiatives.get(initiative_id)
        if initiative.status != "accepted" or await uow.groups.live_for(initiative_id) is not None:
            return 0
        try:
            await self._propose(uow, pool, initiative, at)
        except Infeasible:
            return 0
        return 1

    async def sweep_forever(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await self.sweep()
            except Exception as exc:  # a bad round must not stop the next one
                log.warning("sweep.failed", error=repr(exc))
