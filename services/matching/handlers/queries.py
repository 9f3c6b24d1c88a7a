"""What coordinators and invited members read: groups with their people, an initiative's group, who could
take a seat, an invitation. Nothing here changes anything."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from services.matching.db import MatchingUnitOfWork
from services.matching.domain.formation import replacements
from services.matching.domain.group import Group, GroupStatus, Seat
from services.matching.domain.profiles import Initiative, Resource
from services.matching.domain.rules import Explanation, explain
from services.matching.handlers.group_life import Forming
from services.matching.links import Answer


@dataclass(frozen=True)
class GroupDetails:
    """A group with what coordinators need to read it: the initiative and the people in its seats."""

    group: Group
    initiative: Initiative | None
    people: dict[uuid.UUID, Resource]


@dataclass(frozen=True)
class GroupsFound:
    groups: list[GroupDetails]
    total: int
    waiting: Initiative | None = None  # the initiative asked for, when no group can be proposed for it yet


@dataclass(frozen=True)
class InvitationDetails:
    seat: Seat
    group_status: GroupStatus
    initiative: Initiative
    answer: Answer
    person: Resource | None
    other_token: str  # the same invitation's other link (decline for an accept link), for the page's second button


@dataclass(frozen=True)
class GetGroup:
    group_id: uuid.UUID


@dataclass(frozen=True)
class FindGroups:
    initiative_id: uuid.UUID | None
    status: GroupStatus | None
    limit: int
    offset: int


@dataclass(frozen=True)
class GetInitiative:
    initiative_id: uuid.UUID


@dataclass(frozen=True)
class SuggestReplacements:
    """The best people to take this member's seat, best first."""

    group_id: uuid.UUID
    resource_id: uuid.UUID
    limit: int


@dataclass(frozen=True)
class GetInvitation:
    token: str


async def get_group(query: GetGroup, uow: MatchingUnitOfWork) -> GroupDetails:
    async with uow:
        return await _details(uow, await uow.groups.get(query.group_id))


async def find_groups(query: FindGroups, uow: MatchingUnitOfWork) -> GroupsFound:
    async with uow:
        found, total = await uow.groups.search(query.initiative_id, query.status, query.limit, query.offset)
        asked = None if query.initiative_id is None else await uow.initiatives.find(query.initiative_id)
        waiting = asked if asked is not None and asked.formation_problem is not None else None
        return GroupsFound([await _details(uow, g) for g in found], total, waiting)


async def _details(uow: MatchingUnitOfWork, group: Group) -> GroupDetails:
    initiative = await uow.initiatives.find(group.initiative_id)
    return GroupDetails(group, initiative, await uow.resources.many(s.resource_id for s in group.seats))


async def get_initiative(query: GetInitiative, uow: MatchingUnitOfWork) -> tuple[Initiative, Group | None]:
    async with uow:
        return await uow.initiatives.get(query.initiative_id), await uow.groups.live_for(query.initiative_id)


async def suggest_replacements(
    query: SuggestReplacements, uow: MatchingUnitOfWork, forming: Forming
) -> list[tuple[Resource, Explanation]]:
    async with uow:
        group = await uow.groups.get(query.group_id)
        group.seat_of(query.resource_id)  # NotFound (404) unless they are a member of this group
        initiative = await uow.initiatives.get(group.initiative_id)
        view = (await forming.pool.current()).view()
        remaining = [c for s in group.members if s.resource_id != query.resource_id and (c := view.get(s.resource_id))]
        found = replacements(initiative.need, view, remaining, group.ever_seated, query.limit)
        people = await uow.resources.many(c.id for c in found)
    return [(people[c.id], explain(initiative.need, c)) for c in found if c.id in people]


async def get_invitation(query: GetInvitation, uow: MatchingUnitOfWork, forming: Forming) -> InvitationDetails:
    """What an invitation link shows; InvalidLink for a link matching never handed out."""
    seat_id, answer = forming.links.read(query.token)
    async with uow:
        group = await uow.groups.of_seat(seat_id)
        seat = group.seat(seat_id)
        return InvitationDetails(
            seat,
            group.status,
            await uow.initiatives.get(group.initiative_id),
            answer,
            await uow.resources.find(seat.resource_id),
            forming.links.token(seat_id, Answer.DECLINE if answer is Answer.ACCEPT else Answer.ACCEPT),
        )
