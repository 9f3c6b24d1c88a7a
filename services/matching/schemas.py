"""Matching's API shapes, and how a group, a member, an initiative's blockage and an invitation are shown."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from services.matching.domain.blockage import Blockage, Lack
from services.matching.domain.group import Group, GroupStatus, Role, Seat, SeatStatus
from services.matching.domain.profiles import Initiative, InitiativeStatus, Resource
from services.matching.domain.rules import Explanation
from services.matching.handlers import GroupDetails, GroupsFound, InvitationDetails, ProposeGroups, SwapMember
from services.matching.links import Answer
from shared.taxonomy import Competence, OrganisationType, Theme
from shared.web import Page

M = TypeVar("M", bound=BaseModel)
EXAMPLE_GROUP = "3f2c8a5e-6b1d-4c3a-9e7f-2a1b0c9d8e7f"
EXAMPLE_INITIATIVE = "7d9e3b1a-2c4f-4e8d-a6b5-0f1e2d3c4b5a"
EXAMPLE_RESOURCE = "c1a2b3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"
EXAMPLE_EXPLANATION = (
    "Covers needed competences: Recruitment. Shares themes: Employment. Load: in 1 other group, capacity 3."
)
EXAMPLE_REASON = (
    "no group of 3 to 5 people from different organisations can be formed from the 1 person free for this initiative"
)
EXAMPLE_REASON_SV = (
    "ingen grupp på 3 till 5 personer från olika organisationer kan bildas av den 1 person som är ledig för initiativet"
)


def shown(model: type[M], source: object, **overrides: Any) -> M:
    """The model read from the source's attributes of the same name; `overrides` give the fields it does not
    hold as such."""
    values = {name: getattr(source, name) for name in model.model_fields if hasattr(source, name)}
    return model.model_validate(values | overrides)


class ExplanationOut(BaseModel):
    """Why matching chose the person, for coordinators (the invitation quotes it in the person's language)."""

    text: str = Field(
        description="the explanation in English",
        examples=[EXAMPLE_EXPLANATION],
    )
    competences_covered: list[Competence] = Field(
        description="the initiative's needed competences this person brings", examples=[["recruitment"]]
    )
    themes_shared: list[Theme] = Field(
        description="the initiative's themes this person also works with", examples=[["employment"]]
    )
    load: int = Field(description="groups the person sat in or was invited to when chosen (this one not counted)")
    capacity: int = Field(description="how many groups the person takes part in at most", examples=[3])
    municipality_representative: bool = Field(
        description="chosen to represent the municipality (or, when none was free, as a public authority)"
    )

    @classmethod
    def from_domain(cls, e: Explanation) -> ExplanationOut:
        return shown(cls, e, municipality_representative=e.representative is not None)


def person_fields(person: Resource | None) -> dict[str, Any]:
    """Who holds a seat, as members and candidates show them (nothing once the person was erased)."""
    if person is None:
        return {"name": None, "organisation_name": None, "organisation_type": None}
    return {
        "name": person.contact.name,
        "organisation_name": person.organisation.name,
        "organisation_type": person.organisation.type,
    }


class MemberOut(BaseModel):
    """A seat in the group and the person holding it."""

    seat_id: uuid.UUID = Field(description="the seat, which is also the invitation's id")
    resource_id: uuid.UUID = Field(description="the person's id in the resource pool", examples=[EXAMPLE_RESOURCE])
    name: str | None = Field(description="None once the person was erased", examples=["Maria Lind"])
    organisation_name: str | None = Field(examples=["Malmö stad"])
    organisation_type: OrganisationType | None
    role: Role
    status: SeatStatus = Field(description="where the seat stands: proposed, invited, accepted, or why it was left")
    explanation: ExplanationOut
    replaces: uuid.UUID | None = Field(description="the seat this one took over after a departure, if any")
    invited_at: datetime | None = Field(description="when the invitation went out (on confirmation)")
    expires_at: datetime | None = Field(description="after this an unanswered invitation counts as declined")
    answered_at: datetime | None

    @classmethod
    def from_domain(cls, seat: Seat, person: Resource | None) -> MemberOut:
        explanation = ExplanationOut.from_domain(seat.explanation)
        return shown(cls, seat, seat_id=seat.id, explanation=explanation, **person_fields(person))


class CandidateOut(BaseModel):
    """Someone who could take a seat, with why."""

    resource_id: uuid.UUID = Field(description="the person's id in the resource pool", examples=[EXAMPLE_RESOURCE])
    name: str = Field(examples=["Rolf Rekryt"])
    organisation_name: str = Field(examples=["Bemanning Syd AB"])
    organisation_type: OrganisationType
    explanation: ExplanationOut

    @classmethod
    def from_domain(cls, person: Resource, explanation: Explanation) -> CandidateOut:
        return cls(resource_id=person.id, explanation=ExplanationOut.from_domain(explanation), **person_fields(person))


class InitiativeBrief(BaseModel):
    id: uuid.UUID = Field(examples=[EXAMPLE_INITIATIVE])
    reference: str = Field(description="intake's reference, quoted in every email", examples=["MM-2026-0042"])
    title: str = Field(examples=["Sommarjobb för unga i Rosengård"])
    status: InitiativeStatus

    @classmethod
    def from_domain(cls, initiative: Initiative) -> InitiativeBrief:
        return shown(cls, initiative)


class GroupOut(BaseModel):
    """A working group: proposed by matching, confirmed by a coordinator, formed once every member accepted."""

    id: uuid.UUID = Field(examples=[EXAMPLE_GROUP])
    initiative_id: uuid.UUID = Field(examples=[EXAMPLE_INITIATIVE])
    initiative: InitiativeBrief | None
    status: GroupStatus
    solver: str = Field(description="what chose the members: the exact solver (`cp-sat`) or its fallback (`greedy`)")
    members: list[MemberOut] = Field(description="the active seats, the municipality representative first")
    former_members: list[MemberOut] = Field(description="declined, expired, removed, withdrawn or erased")
    uncovered_competences: list[Competence] = Field(description="needed competences nobody in the group brings")
    vacancies: int = Field(description="seats left open by a departure nobody free could take (filled later)")
    size_min: int = Field(description="the initiative's minimum group size")
    created_at: datetime
    confirmed_by: str | None = Field(description="the coordinator who confirmed", examples=["eva@malmo.se"])
    confirmed_at: datetime | None
    formed_at: datetime | None = Field(description="when the last member accepted")
    ended_at: datetime | None
    ended_reason: str | None = Field(
        description="why the group was dissolved or closed", examples=["initiative withdrawn"]
    )

    @classmethod
    def from_domain(cls, details: GroupDetails) -> GroupOut:
        g: Group = details.group

        def member(seat: Seat) -> MemberOut:
            return MemberOut.from_domain(seat, details.people.get(seat.resource_id))

        return shown(
            cls,
            g,
            initiative=InitiativeBrief.from_domain(details.initiative) if details.initiative else None,
            members=[member(s) for s in g.members],
            former_members=[member(s) for s in g.seats if not s.active],
            uncovered_competences=list(g.uncovered),
        )


class Lacking(BaseModel):
    """What stops a group from being proposed (empty lists and None while nothing does)."""

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

    @staticmethod
    def lacking(blockage: Blockage | None) -> dict[str, Any]:
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
        examples=[EXAMPLE_REASON],
    )
    reason_sv: str | None = Field(
        description="the reason in Swedish",
        examples=[EXAMPLE_REASON_SV],
    )

    @classmethod
    def from_domain(cls, initiative: Initiative | None) -> FormationProblemOut | None:
        if initiative is None or initiative.formation_problem is None:
            return None
        blockage = initiative.blockage
        reason_sv = blockage.text_in("sv") if blockage else None
        return cls(reason=initiative.formation_problem, reason_sv=reason_sv, **cls.lacking(blockage))


class InitiativeOut(Lacking):
    """An accepted initiative as matching knows it: its live group, or what stops one from being proposed."""

    id: uuid.UUID = Field(examples=[EXAMPLE_INITIATIVE])
    reference: str = Field(examples=["MM-2026-0042"])
    title: str = Field(examples=["Sommarjobb för unga i Rosengård"])
    status: InitiativeStatus
    formation_problem: str | None = Field(description="why no group could be proposed yet, if so (in English)")
    group_id: uuid.UUID | None = Field(description="its live group (proposed, confirmed or formed), if any")
    group_status: GroupStatus | None

    @classmethod
    def from_domain(cls, initiative: Initiative, group: Group | None) -> InitiativeOut:
        return shown(
            cls,
            initiative,
            group_id=group.id if group else None,
            group_status=group.status if group else None,
            **cls.lacking(initiative.blockage),
        )


class GroupPage(Page[GroupOut]):
    formation_problem: FormationProblemOut | None = Field(
        default=None,
        description="asked for one initiative: why no group could be proposed for it yet (None once one was)",
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


class SwapIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"replacement_id": EXAMPLE_RESOURCE}, {}]}
    )

    replacement_id: uuid.UUID | None = Field(
        default=None,
        description="the person to take the seat (they must be free for the initiative and keep the group's "
        "rules); without it, the best replacement",
        examples=[EXAMPLE_RESOURCE],
    )

    def to_command(self, group_id: uuid.UUID, resource_id: uuid.UUID) -> SwapMember:
        return SwapMember(group_id, resource_id, self.replacement_id)


class BatchIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"initiative_ids": [EXAMPLE_INITIATIVE, "0b8f6e2d-4a1c-4d3e-9f5a-6b7c8d9e0f1a"]}]
        },
    )

    initiative_ids: list[uuid.UUID] = Field(
        min_length=1, max_length=1000, description="accepted initiatives to propose for, each once, in any order"
    )

    def to_command(self) -> ProposeGroups:
        return ProposeGroups(tuple(self.initiative_ids))


class BatchItem(BaseModel):
    """One initiative of the batch, in the order asked."""

    initiative_id: uuid.UUID
    group: GroupOut | None = Field(description="the new proposal, if one was made")
    problem: str | None = Field(
        description="why none was made: not an accepted initiative, it already has a group, or the reason no "
        "group can be formed",
        examples=["already has a proposed group"],
    )


class InvitationResent(BaseModel):
    """The invitation is on its way again, to the invited member's address, with fresh links."""

    detail: Literal["the invitation is on its way again with fresh links"] = (
        "the invitation is on its way again with fresh links"
    )


class InvitationOut(BaseModel):
    answer: Answer = Field(description="what the link's button does")
    status: SeatStatus = Field(description="where the invitation stands")
    group_status: GroupStatus
    initiative_reference: str = Field(examples=["MM-2026-0042"])
    initiative_title: str = Field(examples=["Sommarjobb för unga i Rosengård"])
    initiative_summary: str
    expires_at: datetime | None = Field(description="after this an unanswered invitation counts as declined")
    open: bool = Field(description="the button still works")
    why_chosen_sv: str = Field(description="why matching chose the person, in Swedish (as their email says it)")
    why_chosen_en: str = Field(description="the same in English", examples=[EXAMPLE_EXPLANATION])
    other_answer_token: str = Field(
        description="the token of the same invitation's other link (decline for an accept link), so that a page "
        "can offer both answers"
    )

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
            why_chosen_sv=d.seat.explanation.text_in("sv"),
            why_chosen_en=d.seat.explanation.text_in("en"),
            other_answer_token=d.other_token,
        )
