"""Matching's API shapes, and how a group, a member and an invitation are shown."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from services.matching.domain.blockage import Blockage, Lack
from services.matching.domain.group import Group, GroupStatus, Role, Seat, SeatStatus
from services.matching.domain.profiles import Initiative, InitiativeStatus, Resource
from services.matching.domain.rules import Explanation
from services.matching.handlers import GroupDetails, GroupsFound, InvitationDetails, ProposeGroups, SwapMember
from services.matching.links import Answer
from shared.taxonomy import Competence, OrganisationType, Theme
from shared.web import Page


class ExplanationOut(BaseModel):
    text: str
    competences_covered: list[Competence]
    themes_shared: list[Theme]
    load: int = Field(description="groups the person sat in or was invited to when chosen (this one not counted)")
    capacity: int
    municipality_representative: bool

    @classmethod
    def from_domain(cls, e: Explanation) -> ExplanationOut:
        return cls(
            text=e.text,
            competences_covered=list(e.competences_covered),
            themes_shared=list(e.themes_shared),
            load=e.load,
            capacity=e.capacity,
            municipality_representative=e.representative is not None,
        )


class MemberOut(BaseModel):
    seat_id: uuid.UUID
    resource_id: uuid.UUID
    name: str | None = Field(description="None once the person was erased")
    organisation_name: str | None
    organisation_type: OrganisationType | None
    role: Role
    status: SeatStatus
    explanation: ExplanationOut
    replaces: uuid.UUID | None
    invited_at: datetime | None
    expires_at: datetime | None
    answered_at: datetime | None

    @classmethod
    def from_domain(cls, seat: Seat, person: Resource | None) -> MemberOut:
        return cls(
            seat_id=seat.id,
            resource_id=seat.resource_id,
            name=person.contact.name if person else None,
            organisation_name=person.organisation.name if person else None,
            organisation_type=person.organisation.type if person else None,
            role=seat.role,
            status=seat.status,
            explanation=ExplanationOut.from_domain(seat.explanation),
            replaces=seat.replaces,
            invited_at=seat.invited_at,
            expires_at=seat.expires_at,
            answered_at=seat.answered_at,
        )


class InitiativeBrief(BaseModel):
    id: uuid.UUID
    reference: str
    title: str
    status: InitiativeStatus

    @classmethod
    def from_domain(cls, initiative: Initiative) -> InitiativeBrief:
        return cls.model_validate(initiative, from_attributes=True)


class GroupOut(BaseModel):
    id: uuid.UUID
    initiative_id: uuid.UUID
    initiative: InitiativeBrief | None
    status: GroupStatus
    solver: str
    members: list[MemberOut]
    former_members: list[MemberOut] = Field(description="declined, expired, removed, withdrawn or erased")
    uncovered_competences: list[Competence]
    vacancies: int
    size_min: int
    created_at: datetime
    confirmed_by: str | None
    confirmed_at: datetime | None
    formed_at: datetime | None
    ended_at: datetime | None
    ended_reason: str | None

    @classmethod
    def from_domain(cls, details: GroupDetails) -> GroupOut:
        g: Group = details.group
        return cls(
            id=g.id,
            initiative_id=g.initiative_id,
            initiative=InitiativeBrief.from_domain(details.initiative) if details.initiative else None,
            status=g.status,
            solver=g.solver,
            members=[MemberOut.from_domain(s, details.people.get(s.resource_id)) for s in g.members],
            former_members=[
                MemberOut.from_domain(s, details.people.get(s.resource_id)) for s in g.seats if not s.active
            ],
            uncovered_competences=list(g.uncovered),
            vacancies=g.vacancies,
            size_min=g.size_min,
            created_at=g.created_at,
            confirmed_by=g.confirmed_by,
            confirmed_at=g.confirmed_at,
            formed_at=g.formed_at,
            ended_at=g.ended_at,
            ended_reason=g.ended_reason,
        )


class CandidateOut(BaseModel):
    resource_id: uuid.UUID
    name: str
    organisation_name: str
    organisation_type: OrganisationType
    explanation: ExplanationOut

    @classmethod
    def from_domain(cls, person: Resource, explanation: Explanation) -> CandidateOut:
        return cls(
            resource_id=person.id,
            name=person.contact.name,
            organisation_name=person.organisation.name,
            organisation_type=person.organisation.type,
            explanation=ExplanationOut.from_domain(explanation),
        )


class Lacking(BaseModel):
    """What stops a group from being proposed (all empty or None while nothing does)."""

    missing: list[Lack] = Field(
        default_factory=list,
        description="what is lacking: a free municipality (or public authority) person, enough free people "
        "from different organisations, needed competences nobody free brings",
        examples=[["municipality_representative", "people"]],
    )
    missing_competences: list[Competence] = Field(
        default_factory=list, description="needed competences that nobody free brings", examples=[["mentoring"]]
    )
    people_needed: int | None = Field(default=None, description="the group's minimum size", examples=[3])
    people_free: int | None = Field(
        default=None,
        description="people who could take part now: confirmed, below capacity, speaking the initiative's "
        "language, outside the originator's organisation",
        examples=[1],
    )

    @classmethod
    def fields_of(cls, blockage: Blockage | None) -> dict[str, Any]:
        if blockage is None:
            return {}
        return {
            "missing": list(blockage.missing),
            "missing_competences": list(blockage.missing_competences),
            "people_needed": blockage.people_needed,
            "people_free": blockage.people_free,
        }


class FormationProblemOut(Lacking):
    reason: str = Field(
        description="the reason in English",
        examples=[
            "no group of 3 to 5 people from different organisations can be formed from the 1 person free "
            "for this initiative"
        ],
    )
    reason_sv: str | None = Field(
        description="the reason in Swedish",
        examples=[
            "ingen grupp på 3 till 5 personer från olika organisationer kan bildas av den 1 person som är "
            "ledig för initiativet"
        ],
    )

    @classmethod
    def from_domain(cls, initiative: Initiative | None) -> FormationProblemOut | None:
        if initiative is None or initiative.formation_problem is None:
            return None
        blockage = initiative.blockage
        return cls(
            reason=initiative.formation_problem,
            reason_sv=blockage.text_in("sv") if blockage else None,
            **cls.fields_of(blockage),
        )


class InitiativeOut(Lacking):
    id: uuid.UUID
    reference: str
    title: str
    status: InitiativeStatus
    formation_problem: str | None = Field(description="why no group could be proposed yet, if so")
    group_id: uuid.UUID | None
    group_status: GroupStatus | None

    @classmethod
    def from_domain(cls, initiative: Initiative, group: Group | None) -> InitiativeOut:
        return cls(
            id=initiative.id,
            reference=initiative.reference,
            title=initiative.title,
            status=initiative.status,
            formation_problem=initiative.formation_problem,
            group_id=group.id if group else None,
            group_status=group.status if group else None,
            **cls.fields_of(initiative.blockage),
        )


class GroupPage(Page[GroupOut]):
    formation_problem: FormationProblemOut | None = Field(
        default=None,
        description="when asked by initiative_id: why no group could be proposed for it yet (None once one was)",
    )

    @classmethod
    def from_domain(cls, found: GroupsFound, limit: int, offset: int) -> GroupPage:
        return cls(
            items=[GroupOut.from_domain(d) for d in found.groups],
            total=found.total,
            limit=limit,
            offset=offset,
            formation_problem=FormationProblemOut.from_domain(found.waiting),
        )


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SwapIn(Strict):
    replacement_id: uuid.UUID | None = Field(default=None, description="a person of your choice; else the best")

    def to_command(self, group_id: uuid.UUID, resource_id: uuid.UUID) -> SwapMember:
        return SwapMember(group_id, resource_id, self.replacement_id)


class BatchIn(Strict):
    initiative_ids: list[uuid.UUID] = Field(min_length=1, max_length=1000)

    def to_command(self) -> ProposeGroups:
        return ProposeGroups(tuple(self.initiative_ids))


class BatchItem(BaseModel):
    initiative_id: uuid.UUID
    group: GroupOut | None
    problem: str | None


class InvitationOut(BaseModel):
    answer: Answer = Field(description="what the link's button does")
    status: SeatStatus
    group_status: GroupStatus
    initiative_reference: str
    initiative_title: str
    initiative_summary: str
    expires_at: datetime | None
    open: bool = Field(description="the button still works")

    @classmethod
    def from_domain(cls, d: InvitationDetails, now: datetime) -> InvitationOut:
        return cls(
            answer=d.answer,
            status=d.seat.status,
            group_status=d.group_status,
            initiative_reference=d.initiative.reference,
            initiative_title=d.initiative.title,
            initiative_summary=d.initiative.summary,
            expires_at=d.seat.expires_at,
            open=d.seat.status is SeatStatus.INVITED
            and d.group_status is GroupStatus.CONFIRMED
            and (d.seat.expires_at is None or d.seat.expires_at > now),
        )
