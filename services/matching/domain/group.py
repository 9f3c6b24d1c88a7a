"""The Group aggregate: a proposal that a coordinator confirms, seats that are invited and answered,
and the moment every seat is accepted. State changes are guarded transitions. No I/O."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from services.matching.domain.rules import Explanation
from shared.errors import InvalidTransition, NotFound
from shared.taxonomy import Competence, OrganisationType


class GroupStatus(StrEnum):
    PROPOSED = "proposed"  # waiting for a coordinator
    CONFIRMED = "confirmed"  # invitations are out
    FORMED = "formed"  # every seat accepted: the work is launched
    DISSOLVED = "dissolved"  # will not form (initiative withdrawn, or superseded by a new proposal)
    CLOSED = "closed"  # the initiative was closed: the group's work is done


class SeatStatus(StrEnum):
    PROPOSED = "proposed"
    INVITED = "invited"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"  # the person left the pool
    ERASED = "erased"  # the person asked to be erased
    REMOVED = "removed"  # a coordinator took them out of the proposal


class Role(StrEnum):
    ORIGINATOR_CONTACT = "originator_contact"
    MUNICIPALITY_REPRESENTATIVE = "municipality_representative"
    RESOURCE = "resource"


ACTIVE_SEATS = frozenset({SeatStatus.PROPOSED, SeatStatus.INVITED, SeatStatus.ACCEPTED})
LIVE_GROUPS = frozenset({GroupStatus.PROPOSED, GroupStatus.CONFIRMED, GroupStatus.FORMED})
DEPARTURES = frozenset(
    {SeatStatus.DECLINED, SeatStatus.EXPIRED, SeatStatus.WITHDRAWN, SeatStatus.ERASED, SeatStatus.REMOVED}
)


@dataclass
class Seat:
    """One place in the group, held by one person; its id is also the invitation's."""

    id: uuid.UUID
    resource_id: uuid.UUID
    role: Role
    status: SeatStatus
    explanation: Explanation
    created_at: datetime
    replaces: uuid.UUID | None = None
    invited_at: datetime | None = None
    expires_at: datetime | None = None
    answered_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_SEATS


@dataclass
class Group:
    id: uuid.UUID
    initiative_id: uuid.UUID
    size_min: int
    target_size: int  # the seats the group should have; a departure without a replacement leaves a vacancy
    representative_kind: OrganisationType
    uncovered: tuple[Competence, ...]
    solver: str
    created_at: datetime
    status: GroupStatus = GroupStatus.PROPOSED
    seats: list[Seat] = field(default_factory=list)
    confirmed_by: str | None = None
    confirmed_at: datetime | None = None
    formed_at: datetime | None = None
    ended_at: datetime | None = None
    ended_reason: str | None = None

    @property
    def members(self) -> list[Seat]:
        return [s for s in self.seats if s.active]

    @property
    def vacancies(self) -> int:
        return max(0, self.target_size - len(self.members))

    @property
    def ever_seated(self) -> set[uuid.UUID]:
        """Everyone who held a seat: a person who declined or was removed is not asked again."""
        return {s.resource_id for s in self.seats}

    @property
    def representative(self) -> Seat | None:
        return next((s for s in self.members if s.role is Role.MUNICIPALITY_REPRESENTATIVE), None)

    def seat(self, seat_id: uuid.UUID) -> Seat:
        found = next((s for s in self.seats if s.id == seat_id), None)
        if found is None:
            raise NotFound("seat", seat_id)
        return found

    def open_invitation(self, seat_id: uuid.UUID, at: datetime) -> Seat:
        """The seat, if its invitation can still be answered (the group confirmed, the seat invited and not past
        its deadline): a new invitation may go out for it. InvalidTransition with the seat's state otherwise."""
        seat = self.seat(seat_id)
        expired = seat.expires_at is not None and seat.expires_at <= at
        if self.status is not GroupStatus.CONFIRMED or seat.status is not SeatStatus.INVITED or expired:
            raise InvalidTransition("invitation", "expired" if expired else seat.status.value, "send again")
        return seat

    def seat_of(self, resource_id: uuid.UUID) -> Seat:
        found = next((s for s in self.members if s.resource_id == resource_id), None)
        if found is None:
            raise NotFound("member", resource_id)
        return found

    def _require(self, allowed: set[GroupStatus], action: str) -> None:
        if self.status not in allowed:
            raise InvalidTransition("group", self.status.value, action)

    def require_proposed(self, action: str) -> None:
        self._require({GroupStatus.PROPOSED}, action)

    def add(
        self,
        resource_id: uuid.UUID,
        explanation: Explanation,
        at: datetime,
        *,
        seat_id: uuid.UUID | None = None,
        replaces: uuid.UUID | None = None,
        expires_at: datetime | None = None,
    ) -> Seat:
        """A new member: proposed while the group is a proposal, invited once it is confirmed."""
        self._require({GroupStatus.PROPOSED, GroupStatus.CONFIRMED}, "add a member to")
        invited = self.status is GroupStatus.CONFIRMED
        seat = Seat(
            id=seat_id or uuid.uuid4(),
            resource_id=resource_id,
            role=Role.RESOURCE,
            status=SeatStatus.INVITED if invited else SeatStatus.PROPOSED,
            explanation=explanation,
            created_at=at,
            replaces=replaces,
            invited_at=at if invited else None,
            expires_at=expires_at if invited else None,
        )
        self.seats.append(seat)
        return seat

    def designate(self, seat: Seat, kind: OrganisationType) -> None:
        """Make `seat` the municipality representative (the role moves from whoever held it)."""
        for other in self.members:
            if other.role is Role.MUNICIPALITY_REPRESENTATIVE and other is not seat:
                other.role = Role.RESOURCE
                other.explanation = other.explanation.as_representative(None)
        seat.role = Role.MUNICIPALITY_REPRESENTATIVE
        seat.explanation = seat.explanation.as_representative(kind)
        self.representative_kind = kind

    def confirm(self, by: str, at: datetime, expires_at: datetime) -> list[Seat]:
        """The coordinator confirms: every proposed seat is invited."""
        self.require_proposed("confirm")
        self.status, self.confirmed_by, self.confirmed_at = GroupStatus.CONFIRMED, by, at
        for seat in self.members:
            seat.status, seat.invited_at, seat.expires_at = SeatStatus.INVITED, at, expires_at
        return self.members

    def accept(self, seat_id: uuid.UUID, at: datetime) -> Seat:
        seat = self.seat(seat_id)
        if self.status is not GroupStatus.CONFIRMED or seat.status is not SeatStatus.INVITED:
            raise InvalidTransition("invitation", self._seat_state(seat), "accept")
        seat.status, seat.answered_at = SeatStatus.ACCEPTED, at
        return seat

    def leave(self, seat_id: uuid.UUID, reason: SeatStatus, at: datetime) -> Seat:
        """A member goes: declined or expired (an open invitation), removed (from a proposal), or
        withdrawn / erased (from the pool, whatever the seat's state while the group is forming)."""
        assert reason in DEPARTURES
        seat = self.seat(seat_id)
        allowed = {
            SeatStatus.DECLINED: ({GroupStatus.CONFIRMED}, {SeatStatus.INVITED}),
            SeatStatus.EXPIRED: ({GroupStatus.CONFIRMED}, {SeatStatus.INVITED}),
            SeatStatus.REMOVED: ({GroupStatus.PROPOSED}, {SeatStatus.PROPOSED}),
            SeatStatus.WITHDRAWN: ({GroupStatus.PROPOSED, GroupStatus.CONFIRMED}, ACTIVE_SEATS),
            SeatStatus.ERASED: ({GroupStatus.PROPOSED, GroupStatus.CONFIRMED, GroupStatus.FORMED}, ACTIVE_SEATS),
        }[reason]
        if self.status not in allowed[0] or seat.status not in allowed[1]:
            entity = "invitation" if reason in {SeatStatus.DECLINED, SeatStatus.EXPIRED} else "member"
            raise InvalidTransition(entity, self._seat_state(seat), f"mark {reason.value}")
        seat.status, seat.answered_at = reason, at
        if seat.role is Role.MUNICIPALITY_REPRESENTATIVE:
            seat.role = Role.RESOURCE
        return seat

    def _seat_state(self, seat: Seat) -> str:
        return (
            seat.status.value
            if self.status is GroupStatus.CONFIRMED
            else f"{seat.status.value} (group {self.status.value})"
        )

    def ready_to_form(self) -> bool:
        """Every remaining seat accepted, enough of them, and the representative among them."""
        members = self.members
        return (
            self.status is GroupStatus.CONFIRMED
            and len(members) >= self.size_min
            and all(s.status is SeatStatus.ACCEPTED for s in members)
            and self.representative is not None
        )

    def form(self, at: datetime) -> None:
        if not self.ready_to_form():
            raise InvalidTransition("group", self.status.value, "form")
        self.status, self.formed_at = GroupStatus.FORMED, at

    def dissolve(self, reason: str, at: datetime) -> bool:
        """Returns False when the group had already ended (a replay)."""
        if self.status not in LIVE_GROUPS:
            return False
        self.status, self.ended_at, self.ended_reason = GroupStatus.DISSOLVED, at, reason
        return True

    def close(self, at: datetime) -> bool:
        if self.status is not GroupStatus.FORMED:
            return self.dissolve("initiative closed", at)
        self.status, self.ended_at, self.ended_reason = GroupStatus.CLOSED, at, "initiative closed"
        return True

    def expired_invitations(self, at: datetime) -> list[Seat]:
        return [s for s in self.members if s.status is SeatStatus.INVITED and s.expires_at and s.expires_at <= at]
