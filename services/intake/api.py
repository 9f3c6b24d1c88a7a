"""Intake's HTTP edge: the portal's public API, the originator's private link, the staff API."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Header, HTTPException, Query, Response, status
from fastapi.responses import HTMLResponse, RedirectResponse

from services.intake.db import IntakeUnitOfWork
from services.intake.domain import Initiative, Originator
from services.intake.handlers import IdempotencyKeyReused, IntakeHandlers, StatusLinks, SubmitInitiative
from services.intake.schemas import (
    STATUS_LABELS,
    Answer,
    DuplicateHint,
    FiltersDep,
    GroupSize,
    InformationRequest,
    InitiativeCreate,
    InitiativeDetail,
    InitiativeReceipt,
    InitiativeSummary,
    OriginatorOut,
    OriginatorView,
    Rejection,
    SortOrder,
    Withdrawal,
    history_of,
    originator_view,
    summary_of,
)
from shared.auth import CoordinatorDep, StaffReaderDep
from shared.links import InvalidLink
from shared.validation import MultilineText
from shared.web import Form as PageForm
from shared.web import FormField, Page, RateLimit, csv_response, html_page

# --- routes --------------------------------------------------------------------------------------


def build_router(handlers: IntakeHandlers, uow_factory: Any, links: StatusLinks, public_rate_limit: str) -> APIRouter:
    router = APIRouter()
    submit_limit = RateLimit(public_rate_limit, "intake:submit")

    async def load(initiative_id: uuid.UUID) -> Initiative:
        uow: IntakeUnitOfWork
        async with uow_factory() as uow:
            return await uow.initiatives.get(initiative_id)  # type: ignore[no-any-return]

    def initiative_from_link(token: str) -> uuid.UUID:
        try:
            return links.initiative_id(token)
        except (InvalidLink, ValueError):
            raise HTTPException(status.HTTP_404_NOT_FOUND, "this link is not valid") from None

    # Public: the portal ---------------------------------------------------------------------------

    @router.post(
        "/api/v1/initiatives",
        tags=["portal"],
        status_code=status.HTTP_201_CREATED,
        response_model=InitiativeReceipt,
        dependencies=[Depends(submit_limit)],
        responses={409: {"description": "Idempotency-Key reused for a different request"}, 429: {}},
        summary="Submit an initiative",
    )
    async def submit(
        body: InitiativeCreate,
        response: Response,
        idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
    ) -> dict[str, Any]:
        fingerprint = hashlib.sha256(json.dumps(body.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()
        o = body.originator
        command = SubmitInitiative(
            title=body.title,
            summary=body.summary,
            description=body.description,
            originator=Originator(
                o.organisation_name,
                o.organisation_type,
                o.organisation_number,
                o.contact_name,
                str(o.contact_email),
                o.contact_phone,
            ),
            themes=tuple(body.themes),
            seeking=tuple(body.seeking),
            competences_needed=tuple(body.competences_needed),
            group_size_min=body.group_size.min,
            group_size_max=body.group_size.max,
            language=body.language,
            idempotency_key=idempotency_key,
            fingerprint=fingerprint,
        )
        try:
            receipt_body, created = await handlers.submit(command)
        except IdempotencyKeyReused as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
        response.headers["Location"] = f"/api/v1/initiatives/{receipt_body['id']}"
        if not created:
            response.headers["Idempotent-Replayed"] = "true"
        return receipt_body

    # Public: the originator's private link ---------------------------------------------------------

    @router.get("/api/v1/my/initiatives/{token}", tags=["originator"], summary="Status seen through the private link")
    async def my_initiative(token: str) -> OriginatorView:
        return originator_view(await load(initiative_from_link(token)))

    @router.post("/api/v1/my/initiatives/{token}/answer", tags=["originator"], summary="Answer an information request")
    async def my_answer(token: str, body: Answer) -> OriginatorView:
        initiative = await handlers.answer(initiative_from_link(token), body.answer, body.summary, body.description)
        return originator_view(initiative)

    @router.post("/api/v1/my/initiatives/{token}/withdraw", tags=["originator"], summary="Withdraw the initiative")
    async def my_withdraw(token: str, body: Withdrawal) -> OriginatorView:
        initiative = await handlers.withdraw(initiative_from_link(token), "originator", body.reason)
        return originator_view(initiative)

    @router.get("/my/initiatives/{token}", tags=["originator"], response_class=HTMLResponse, include_in_schema=False)
    async def my_page(token: str) -> HTMLResponse:
        try:
            initiative_id = links.initiative_id(token)
        except (InvalidLink, ValueError):
            return html_page("Länken fungerar inte", ["Kontrollera att hela länken kom med."], status_code=404)
        view = originator_view(await load(initiative_id))
        forms = []
        if view.can_answer:
            forms.append(
                PageForm(
                    action=f"/my/initiatives/{token}/answer",
                    button="Skicka svar / Send answer",
                    fields=[FormField(name="answer", label="Ditt svar / Your answer")],
                )
            )
        if view.can_withdraw:
            forms.append(
                PageForm(
                    action=f"/my/initiatives/{token}/withdraw", button="Dra tillbaka / Withdraw", style="secondary"
                )
            )
        facts = [("Referens / Reference", view.reference), ("Status", " / ".join(STATUS_LABELS[view.status]))]
        if view.question:
            facts.append(("Fråga från Meet Malmö / Question", view.question))
        return html_page(view.title, [view.summary], facts=facts, forms=forms)

    @router.post("/my/initiatives/{token}/answer", include_in_schema=False)
    async def my_answer_form(
        token: str, answer: Annotated[MultilineText, Form(min_length=1, max_length=4000)]
    ) -> Response:
        await handlers.answer(initiative_from_link(token), answer, None, None)
        return RedirectResponse(f"/my/initiatives/{token}", status_code=status.HTTP_303_SEE_OTHER)

    @router.post("/my/initiatives/{token}/withdraw", include_in_schema=False)
    async def my_withdraw_form(token: str) -> Response:
        await handlers.withdraw(initiative_from_link(token), "originator", None)
        return RedirectResponse(f"/my/initiatives/{token}", status_code=status.HTTP_303_SEE_OTHER)

    # Staff ----------------------------------------------------------------------------------------

    @router.get("/api/v1/initiatives", tags=["staff"], summary="List initiatives with filters")
    async def list_initiatives(
        _: StaffReaderDep,
        found_by: FiltersDep,
        sort: SortOrder = "-submitted_at",
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> Page[InitiativeSummary]:
        uow: IntakeUnitOfWork
        async with uow_factory() as uow:
            found, total = await uow.initiatives.search(found_by, sort=sort, limit=limit, offset=offset)
        return Page(items=[summary_of(i) for i in found], total=total, limit=limit, offset=offset)

    @router.get("/api/v1/initiatives/export.csv", tags=["staff"], summary="The filtered list as CSV")
    async def export_csv(_: StaffReaderDep, found_by: FiltersDep) -> Response:
        uow: IntakeUnitOfWork
        async with uow_factory() as uow:
            found, _total = await uow.initiatives.search(found_by, sort="-submitted_at", limit=100_000)
        header = [
            "reference", "status", "title", "organisation_name", "organisation_type", "organisation_number",
            "contact_name", "contact_email", "themes", "seeking", "competences_needed", "submitted_at",
        ]  # fmt: skip
        rows = (
            [
                i.reference,
                i.status.value,
                i.title,
                i.originator.organisation_name,
                i.originator.organisation_type.value,
                i.originator.organisation_number or "",
                i.originator.contact_name,
                i.originator.contact_email,
                [t.value for t in i.themes],
                [s.value for s in i.seeking],
                [c.value for c in i.competences_needed],
                i.submitted_at.isoformat(),
            ]
            for i in found
        )
        return csv_response("initiatives.csv", header, rows)

    @router.get("/api/v1/initiatives/{initiative_id}", tags=["staff"], summary="Detail with the full history")
    async def detail(initiative_id: uuid.UUID, _: StaffReaderDep) -> InitiativeDetail:
        uow: IntakeUnitOfWork
        async with uow_factory() as uow:
            initiative = await uow.initiatives.get(initiative_id)
            duplicates = await uow.initiatives.briefs(initiative.possible_duplicates)
        o = initiative.originator
        return InitiativeDetail(
            **summary_of(initiative).model_dump(),
            description=initiative.description,
            originator=OriginatorOut(**o.__dict__),
            seeking=list(initiative.seeking),
            competences_needed=list(initiative.competences_needed),
            group_size=GroupSize(min=initiative.group_size_min, max=initiative.group_size_max),
            language=initiative.language,
            history=history_of(initiative),
            possible_duplicates=[DuplicateHint(**d) for d in duplicates],
        )

    conflict: dict[int | str, dict[str, Any]] = {409: {"description": "illegal in the current status"}}

    @router.post("/api/v1/initiatives/{initiative_id}/accept", tags=["staff"], responses=conflict)
    async def accept(initiative_id: uuid.UUID, staff: CoordinatorDep) -> InitiativeSummary:
        return summary_of(await handlers.accept(initiative_id, staff.subject))

    @router.post("/api/v1/initiatives/{initiative_id}/reject", tags=["staff"], responses=conflict)
    async def reject(initiative_id: uuid.UUID, body: Rejection, staff: CoordinatorDep) -> InitiativeSummary:
        return summary_of(await handlers.reject(initiative_id, staff.subject, body.reason))

    @router.post("/api/v1/initiatives/{initiative_id}/request-info", tags=["staff"], responses=conflict)
    async def request_info(
        initiative_id: uuid.UUID, body: InformationRequest, staff: CoordinatorDep
    ) -> InitiativeSummary:
        return summary_of(await handlers.request_info(initiative_id, staff.subject, body.message))

    @router.post("/api/v1/initiatives/{initiative_id}/withdraw", tags=["staff"], responses=conflict)
    async def withdraw(initiative_id: uuid.UUID, body: Withdrawal, staff: CoordinatorDep) -> InitiativeSummary:
        return summary_of(await handlers.withdraw(initiative_id, staff.subject, body.reason))

    @router.post("/api/v1/initiatives/{initiative_id}/close", tags=["staff"], responses=conflict)
    async def close(initiative_id: uuid.UUID, staff: CoordinatorDep) -> InitiativeSummary:
        return summary_of(await handlers.close(initiative_id, staff.subject))

    return router
