"""Invitations: a confirmed group invites its members, who accept or decline by link; the sweep expires
unanswered invitations (they count as declined), fills open seats and retries initiatives still waiting."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from services.matching.db import MatchingUnitOfWork
from services.matching.domain.formation import fill_vacancies
from services.matching.domain.group import Group, GroupStatus, Seat, SeatStatus
from services.matching.domain.pool import Pool
from services.matching.domain.profiles import Initiative, Resource
from services.matching.domain.solver import Infeasible
from services.matching.handlers.base import HandlerBase, facts, log
from services.matching.links import Answer
from shared.contracts.groups import GroupConfirmed, MemberAccepted
from shared.errors import InvalidTransition


@dataclass(frozen=True)
class InvitationDetails:
    seat: Seat
    group_status: GroupStatus
    initiative: Initiative
    answer: Answer
    person: Resource | None


class InvitationHandlers(HandlerBase):
    async def confirm(self, group_id: uuid.UUID, by: str) -> Group:
        async def work(uow: MatchingUnitOfWork, _: Pool, at: datetime) -> Group:
            group = await uow.groups.get(group_id)
            initiative = await uow.initiatives.get(group.initiative_id)
            invited = group.confirm(by, at, at + self._invitation_validity)
            await uow.groups.save(group)
            members = await self._members(uow, group.members)
            await uow.emit(GroupConfirmed(**facts(group, initiative), members=members, confirmed_by=by))
            await self._invite(uow, group, initiative, invited)
            log.info("group.confirmed", group_id=str(group.id))
            return group

        return await self._write(work)

    # --- invited members -----------------------------------------------------------------------------

    async def invitation(self, token: str) -> InvitationDetails:
        seat_id, answer = self._links.read(token)
        async with self._uow() as uow:
            group = await uow.groups.of_seat(seat_id)
            seat = group.seat(seat_id)
            return InvitationDetails(
                seat,
                group.status,
                await uow.initiatives.get(group.initiative_id),
                answer,
                await uow.resources.find(seat.resource_id),
            )

    async def answer(self, token: str) -> InvitationDetails:
        """The button on the invitation page: accept or decline, once."""
        seat_id, answer = self._links.read(token)

        async def work(uow: MatchingUnitOfWork, pool: Pool, at: datetime) -> None:
            group = await uow.groups.of_seat(seat_id)
            seat = group.seat(seat_id)
            if seat.status is SeatStatus.INVITED and seat.expires_at is not None and seat.expires_at <= at:
                raise InvalidTransition("invitation", "expired", answer.value)
            if answer is Answer.DECLINE:
                if group.status is not GroupStatus.CONFIRMED or seat.status is not SeatStatus.INVITED:
                    raise InvalidTransition("invitation", seat.status.value, "decline")
                await self._depart(uow, pool.view(), group, seat, SeatStatus.DECLINED, at)
                return
            initiative = await uow.initiatives.get(group.initiative_id)
            group.accept(seat_id, at)
            await uow.groups.save(group)
            (member,) = await self._members(uow, [seat])
            await uow.emit(MemberAccepted(**facts(group, initiative), member=member))
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
