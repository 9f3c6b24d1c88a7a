"""Matching's HTTP edge: the coordinators' API over proposals and groups, and the invited members' links."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Query, Response, status
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, ConfigDict, Field

from services.matching.domain.group import Group, GroupStatus, Role, Seat, SeatStatus
from services.matching.domain.profiles import Initiative, Resource
from services.matching.domain.rules import Explanation
from services.matching.handlers import Answer, GroupDetails, InvitationDetails, MatchingHandlers
from shared.auth import CoordinatorDep
from shared.errors import InvalidTransition
from shared.links import InvalidLink
from shared.taxonomy import Competence, OrganisationType, Theme
from shared.web import Form, Page, RateLimit, html_page

# --- shapes --------------------------------------------------------------------------------------


class ExplanationOut(BaseModel):
    text: str
    competences_covered: list[Competence]
    themes_shared: list[Theme]
    load: int = Field(description="groups the person sat in or was invited to when chosen (this one not counted)")
    capacity: int
    municipality_representative: bool


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


class InitiativeBrief(BaseModel):
    id: uuid.UUID
    reference: str
    title: str
    status: str


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


class CandidateOut(BaseModel):
    resource_id: uuid.UUID
    name: str
    organisation_name: str
    organisation_type: OrganisationType
    explanation: ExplanationOut


class InitiativeOut(BaseModel):
    id: uuid.UUID
    reference: str
    title: str
    status: str
    formation_problem: str | None = Field(description="why no group could be proposed yet, if so")
    group_id: uuid.UUID | None
    group_status: GroupStatus | None


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SwapIn(Strict):
    replacement_id: uuid.UUID | None = Field(default=None, description="a person of your choice; else the best")


class BatchIn(Strict):
    initiative_ids: list[uuid.UUID] = Field(min_length=1, max_length=1000)


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


def explanation_out(e: Explanation) -> ExplanationOut:
    return ExplanationOut(
        text=e.text,
        competences_covered=list(e.competences_covered),
        themes_shared=list(e.themes_shared),
        load=e.load,
        capacity=e.capacity,
        municipality_representative=e.representative is not None,
    )


def member_out(seat: Seat, person: Resource | None) -> MemberOut:
    return MemberOut(
        seat_id=seat.id,
        resource_id=seat.resource_id,
        name=person.contact.name if person else None,
        organisation_name=person.organisation.name if person else None,
        organisation_type=person.organisation.type if person else None,
        role=seat.role,
        status=seat.status,
        explanation=explanation_out(seat.explanation),
        replaces=seat.replaces,
        invited_at=seat.invited_at,
        expires_at=seat.expires_at,
        answered_at=seat.answered_at,
    )


def brief(initiative: Initiative | None) -> InitiativeBrief | None:
    if initiative is None:
        return None
    return InitiativeBrief(
        id=initiative.id, reference=initiative.reference, title=initiative.title, status=initiative.status
    )


def group_out(details: GroupDetails) -> GroupOut:
    g: Group = details.group
    return GroupOut(
        id=g.id,
        initiative_id=g.initiative_id,
        initiative=brief(details.initiative),
        status=g.status,
        solver=g.solver,
        members=[member_out(s, details.people.get(s.resource_id)) for s in g.members],
        former_members=[member_out(s, details.people.get(s.resource_id)) for s in g.seats if not s.active],
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


def invitation_out(d: InvitationDetails, now: datetime) -> InvitationOut:
    return InvitationOut(
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


# --- routes --------------------------------------------------------------------------------------

CONFLICT: dict[int | str, dict[str, Any]] = {409: {"description": "illegal in the current status, or against a rule"}}
BUTTONS = {
    Answer.ACCEPT: ("Ja, jag är med / Yes, I will join", ""),
    Answer.DECLINE: ("Nej tack / No, thank you", "secondary"),
}
ANSWERED = {
    SeatStatus.ACCEPTED: "Tack! Du är med i arbetsgruppen. / Thank you: you are in the working group.",
    SeatStatus.DECLINED: "Tack för beskedet. / Thank you for letting us know.",
}


def build_router(handlers: MatchingHandlers, clock: Any, public_rate_limit: str) -> APIRouter:
    router = APIRouter()
    link_limit = RateLimit(public_rate_limit, "matching:invitations")

    # Coordinators --------------------------------------------------------------------------------

    @router.get("/api/v1/groups", tags=["coordinators"], summary="Groups (proposals first), by initiative or status")
    async def list_groups(
        _: CoordinatorDep,
        initiative_id: uuid.UUID | None = None,
        status_: Annotated[GroupStatus | None, Query(alias="status")] = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    ) -> Page[GroupOut]:
        found, total = await handlers.groups(initiative_id, status_, limit, offset)
        return Page(items=[group_out(d) for d in found], total=total, limit=limit, offset=offset)

    @router.get("/api/v1/groups/{group_id}", tags=["coordinators"], summary="A group with members and reasons")
    async def get_group(group_id: uuid.UUID, _: CoordinatorDep) -> GroupOut:
        return group_out(await handlers.group(group_id))

    @router.post("/api/v1/groups/{group_id}/confirm", tags=["coordinators"], responses=CONFLICT)
    async def confirm(group_id: uuid.UUID, staff: CoordinatorDep) -> GroupOut:
        """Confirm the proposal: every member is invited by email."""
        await handlers.confirm(group_id, staff.subject)
        return group_out(await handlers.group(group_id))

    @router.get(
        "/api/v1/groups/{group_id}/members/{resource_id}/replacements",
        tags=["coordinators"],
        summary="The best people to take this member's seat under the rules, best first",
    )
    async def suggest(
        group_id: uuid.UUID, resource_id: uuid.UUID, _: CoordinatorDep, limit: Annotated[int, Query(ge=1, le=20)] = 5
    ) -> list[CandidateOut]:
        found = await handlers.suggestions(group_id, resource_id, limit)
        return [
            CandidateOut(
                resource_id=p.id,
                name=p.contact.name,
                organisation_name=p.organisation.name,
                organisation_type=p.organisation.type,
                explanation=explanation_out(e),
            )
            for p, e in found
        ]

    @router.post("/api/v1/groups/{group_id}/members/{resource_id}/swap", tags=["coordinators"], responses=CONFLICT)
    async def swap(
        group_id: uuid.UUID,
        resource_id: uuid.UUID,
        _: CoordinatorDep,
        body: Annotated[SwapIn | None, Body()] = None,
    ) -> GroupOut:
        """Swap a proposed member for the best replacement, or for the person named."""
        await handlers.swap(group_id, resource_id, body.replacement_id if body else None)
        return group_out(await handlers.group(group_id))

    @router.delete("/api/v1/groups/{group_id}/members/{resource_id}", tags=["coordinators"], responses=CONFLICT)
    async def remove(group_id: uuid.UUID, resource_id: uuid.UUID, _: CoordinatorDep) -> GroupOut:
        """Take a member out of a proposal (refused when the group would break a rule)."""
        await handlers.remove(group_id, resource_id)
        return group_out(await handlers.group(group_id))

    @router.post("/api/v1/groups/batch", tags=["coordinators"], summary="Propose groups for many initiatives at once")
    async def batch(body: BatchIn, _: CoordinatorDep) -> list[BatchItem]:
        """Capacity is shared across the batch (nobody is booked beyond it); the scarcest initiatives choose first."""
        results = await handlers.propose_batch(body.initiative_ids)
        items = []
        for initiative_id, outcome in results:
            if isinstance(outcome, Group):
                items.append(
                    BatchItem(
                        initiative_id=initiative_id, group=group_out(await handlers.group(outcome.id)), problem=None
                    )
                )
            else:
                items.append(BatchItem(initiative_id=initiative_id, group=None, problem=outcome))
        return items

    @router.get("/api/v1/initiatives/{initiative_id}", tags=["coordinators"], summary="An accepted initiative's group")
    async def initiative(initiative_id: uuid.UUID, _: CoordinatorDep) -> InitiativeOut:
        found, group = await handlers.initiative(initiative_id)
        return InitiativeOut(
            id=found.id,
            reference=found.reference,
            title=found.title,
            status=found.status,
            formation_problem=found.formation_problem,
            group_id=group.id if group else None,
            group_status=group.status if group else None,
        )

    @router.post(
        "/api/v1/initiatives/{initiative_id}/propose",
        tags=["coordinators"],
        status_code=status.HTTP_201_CREATED,
        responses=CONFLICT,
        summary="Propose a group now (again: the current proposal is replaced)",
    )
    async def propose_now(initiative_id: uuid.UUID, _: CoordinatorDep) -> GroupOut:
        group = await handlers.propose_for(initiative_id)
        return group_out(await handlers.group(group.id))

    # Invited members -----------------------------------------------------------------------------

    async def read(token: str) -> InvitationDetails:
        try:
            return await handlers.invitation(token)
        except (InvalidLink, ValueError):
            raise HTTPException(status.HTTP_404_NOT_FOUND, "this link is not valid") from None

    @router.get("/api/v1/invitations/{token}", tags=["members"], dependencies=[Depends(link_limit)])
    async def invitation(token: str) -> InvitationOut:
        """What the link shows; it never changes anything."""
        return invitation_out(await read(token), clock())

    @router.post(
        "/api/v1/invitations/{token}", tags=["members"], dependencies=[Depends(link_limit)], responses=CONFLICT
    )
    async def answer(token: str) -> InvitationOut:
        """Accept or decline (the link says which), once."""
        await read(token)
        return invitation_out(await handlers.answer(token), clock())

    @router.get("/invitations/{token}", response_class=HTMLResponse, include_in_schema=False)
    async def page(token: str) -> HTMLResponse:
        try:
            found = await handlers.invitation(token)
        except (InvalidLink, ValueError):
            return html_page(
                "Länken fungerar inte / The link does not work",
                ["Kontrollera att hela länken kom med."],
                status_code=404,
            )
        view = invitation_out(found, clock())
        facts = [("Referens / Reference", view.initiative_reference)]
        if view.open and view.expires_at:
            facts.append(("Svara senast / Answer by", view.expires_at.strftime("%Y-%m-%d")))
        paragraphs = [view.initiative_summary]
        forms = []
        if view.open:
            button, style = BUTTONS[view.answer]
            forms.append(Form(action=f"/invitations/{token}", button=button, style=style))
        else:
            paragraphs.append(
                ANSWERED.get(view.status, "Inbjudan är inte längre öppen. / The invitation is no longer open.")
            )
        return html_page(view.initiative_title, paragraphs, facts=facts, forms=forms)

    @router.post("/invitations/{token}", include_in_schema=False, dependencies=[Depends(link_limit)])
    async def press(token: str) -> Response:
        try:
            await handlers.answer(token)
        except (InvalidLink, ValueError):
            return html_page("Länken fungerar inte / The link does not work", status_code=404)
        except InvalidTransition:
            pass  # the page says where the invitation stands
        return RedirectResponse(f"/invitations/{token}", status_code=status.HTTP_303_SEE_OTHER)

    return router
