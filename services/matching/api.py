"""Matching's HTTP edge: the coordinators' API over proposals and groups, and the invited members' links."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Query, Response, status
from fastapi.responses import HTMLResponse, RedirectResponse

from services.matching.domain.group import Group, GroupStatus, SeatStatus
from services.matching.handlers import InvitationDetails, MatchingHandlers
from services.matching.links import Answer
from services.matching.schemas import (
    BatchIn,
    BatchItem,
    CandidateOut,
    GroupOut,
    InitiativeOut,
    InvitationOut,
    SwapIn,
    explanation_out,
    group_out,
    invitation_out,
)
from shared.auth import CoordinatorDep
from shared.errors import InvalidTransition
from shared.web import Form, Page, RateLimit, html_page

CONFLICT: dict[int | str, dict[str, Any]] = {409: {"description": "illegal in the current status, or against a rule"}}
BUTTONS = {
    Answer.ACCEPT: ("Ja, jag är med / Yes, I will join", ""),
    Answer.DECLINE: ("Nej tack / No, thank you", "secondary"),
}
ANSWERED = {
    SeatStatus.ACCEPTED: "Tack! Du är med i arbetsgruppen. / Thank you: you are in the working group.",
    SeatStatus.DECLINED: "Tack för beskedet. / Thank you for letting us know.",
}


def build_router(handlers: MatchingHandlers, clock: Callable[[], datetime], public_rate_limit: str) -> APIRouter:
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
        except ValueError:  # InvalidLink, or a token naming no seat or answer
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
        except ValueError:
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
        except ValueError:
            return html_page("Länken fungerar inte / The link does not work", status_code=404)
        except InvalidTransition:
            pass  # the page says where the invitation stands
        return RedirectResponse(f"/invitations/{token}", status_code=status.HTTP_303_SEE_OTHER)

    return router
