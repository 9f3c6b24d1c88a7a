"""What the portal, the originator and the coordinators ask intake to do: one handler per command.

Each handler opens the unit of work, asks the aggregate, emits the event, commits. A decision that lost
a race with a concurrent writer runs once more on fresh state (`retry_once_on`).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import structlog

from services.intake.db import ConcurrentSubmission, ConcurrentUpdate, IntakeUnitOfWork
from services.intake.domain import Initiative, Originator, Receipt, format_reference, likely_duplicates
from services.intake.links import StatusLinks
from shared.contracts.initiatives import (
    InitiativeAccepted,
    InitiativeClosed,
    InitiativeInfoRequested,
    InitiativeRejected,
    InitiativeSubmitted,
    InitiativeUpdated,
    InitiativeWithdrawn,
)
from shared.contracts.initiatives import Originator as OriginatorContract
from shared.db import Clock
from shared.messagebus import retry_once_on
from shared.taxonomy import Competence, Language, Seeking, Theme

log = structlog.get_logger(__name__)


class IdempotencyKeyReused(Exception):
    """The Idempotency-Key was used before for a different request."""


@dataclass(frozen=True)
class SubmitInitiative:
    title: str
    summary: str
    description: str
    originator: Originator
    themes: tuple[Theme, ...]
    seeking: tuple[Seeking, ...]
    competences_needed: tuple[Competence, ...]
    group_size_min: int
    group_size_max: int
    language: Language
    idempotency_key: str | None = None
    fingerprint: str = ""


@dataclass(frozen=True)
class AcceptInitiative:
    initiative_id: uuid.UUID
    by: str


@dataclass(frozen=True)
class RejectInitiative:
    initiative_id: uuid.UUID
    by: str
    reason: str


@dataclass(frozen=True)
class RequestInformation:
    initiative_id: uuid.UUID
    by: str
    message: str


@dataclass(frozen=True)
class AnswerInformationRequest:
    """The originator answers, optionally improving the summary and the description."""

    initiative_id: uuid.UUID
    answer: str
    summary: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class WithdrawInitiative:
    initiative_id: uuid.UUID
    by: str
    reason: str | None = None


@dataclass(frozen=True)
class CloseInitiative:
    initiative_id: uuid.UUID
    by: str


def _snapshot(initiative: Initiative, links: StatusLinks) -> dict[str, Any]:
    """What every initiative event carries: the initiative after the change and the originator's status link."""
    return {
        "initiative_id": initiative.id,
        "reference": initiative.reference,
        "status": initiative.status.value,
        "title": initiative.title,
        "summary": initiative.summary,
        "themes": initiative.themes,
        "seeking": initiative.seeking,
        "competences_needed": initiative.competences_needed,
        "group_size_min": initiative.group_size_min,
        "group_size_max": initiative.group_size_max,
        "language": initiative.language,
        "originator": OriginatorContract.model_validate(initiative.originator, from_attributes=True),
        "status_url": links.url(initiative.id),
    }


@retry_once_on(ConcurrentSubmission)
async def submit_initiative(
    command: SubmitInitiative, uow: IntakeUnitOfWork, clock: Clock, links: StatusLinks
) -> tuple[Receipt, bool]:
    """Store a new initiative; returns (receipt, created). A retried Idempotency-Key gets the first receipt."""
    async with uow:
        if command.idempotency_key and (earlier := await _earlier_receipt(uow, command)) is not None:
            return earlier, False
        now = clock()
        number = await uow.initiatives.next_reference_number(now.year)
        initiative = Initiative.submit(
            at=now,
            id=uuid.uuid4(),
            reference=format_reference(now.year, number),
            title=command.title,
            summary=command.summary,
            description=command.description,
            originator=command.originator,
            themes=command.themes,
            seeking=command.seeking,
            competences_needed=command.competences_needed,
            group_size_min=command.group_size_min,
            group_size_max=command.group_size_max,
            language=command.language,
            possible_duplicates=likely_duplicates(
                command.title,
                command.summary,
                command.originator.organisation_number,
                await uow.initiatives.open_candidates(),
            ),
        )
        await uow.initiatives.add(initiative)
        if command.idempotency_key:
            await uow.initiatives.remember_receipt(
                command.idempotency_key, command.fingerprint, initiative.receipt, now
            )
        await uow.emit(InitiativeSubmitted(**_snapshot(initiative, links), submitted_at=now))
        await uow.commit()
    log.info("initiative.submitted", initiative_id=str(initiative.id), reference=initiative.reference)
    return initiative.receipt, True


async def _earlier_receipt(uow: IntakeUnitOfWork, command: SubmitInitiative) -> Receipt | None:
    assert command.idempotency_key is not None
    remembered = await uow.initiatives.remembered_receipt(command.idempotency_key)
    if remembered is None:
        return None
    fingerprint, receipt = remembered
    if fingerprint != command.fingerprint:
        raise IdempotencyKeyReused("this Idempotency-Key was already used for a different initiative")
    return receipt


@asynccontextmanager
async def _changing(uow: IntakeUnitOfWork, initiative_id: uuid.UUID) -> AsyncIterator[Initiative]:
    """The initiative loaded with a row lock; saved and committed when the block ends without an error.
    Raises ConcurrentUpdate when another writer slipped in (SQLite has no row locks)."""
    async with uow:
        initiative = await uow.initiatives.get(initiative_id, for_update=True)
        yield initiative
        await uow.initiatives.save(initiative)
        await uow.commit()


@retry_once_on(ConcurrentUpdate)
async def accept_initiative(
    command: AcceptInitiative, uow: IntakeUnitOfWork, clock: Clock, links: StatusLinks
) -> Initiative:
    async with _changing(uow, command.initiative_id) as initiative:
        initiative.accept(command.by, clock())
        await uow.emit(InitiativeAccepted(**_snapshot(initiative, links), decided_by=command.by))
    return initiative


@retry_once_on(ConcurrentUpdate)
async def reject_initiative(
    command: RejectInitiative, uow: IntakeUnitOfWork, clock: Clock, links: StatusLinks
) -> Initiative:
    async with _changing(uow, command.initiative_id) as initiative:
        initiative.reject(command.by, command.reason, clock())
        event = InitiativeRejected(**_snapshot(initiative, links), decided_by=command.by, reason=command.reason)
        await uow.emit(event)
    return initiative


@retry_once_on(ConcurrentUpdate)
async def request_information(
    command: RequestInformation, uow: IntakeUnitOfWork, clock: Clock, links: StatusLinks
) -> Initiative:
    async with _changing(uow, command.initiative_id) as initiative:
        initiative.request_info(command.by, command.message, clock())
        event = InitiativeInfoRequested(**_snapshot(initiative, links), decided_by=command.by, message=command.message)
        await uow.emit(event)
    return initiative


@retry_once_on(ConcurrentUpdate)
async def answer_information_request(
    command: AnswerInformationRequest, uow: IntakeUnitOfWork, clock: Clock, links: StatusLinks
) -> Initiative:
    async with _changing(uow, command.initiative_id) as initiative:
        initiative.answer(command.answer, clock(), summary=command.summary, description=command.description)
        await uow.emit(InitiativeUpdated(**_snapshot(initiative, links), answer=command.answer))
    return initiative


@retry_once_on(ConcurrentUpdate)
async def withdraw_initiative(
    command: WithdrawInitiative, uow: IntakeUnitOfWork, clock: Clock, links: StatusLinks
) -> Initiative:
    async with _changing(uow, command.initiative_id) as initiative:
        initiative.withdraw(command.by, clock(), command.reason)
        event = InitiativeWithdrawn(**_snapshot(initiative, links), withdrawn_by=command.by, reason=command.reason)
        await uow.emit(event)
    return initiative


@retry_once_on(ConcurrentUpdate)
async def close_initiative(
    command: CloseInitiative, uow: IntakeUnitOfWork, clock: Clock, links: StatusLinks
) -> Initiative:
    async with _changing(uow, command.initiative_id) as initiative:
        initiative.close(command.by, clock())
        await uow.emit(InitiativeClosed(**_snapshot(initiative, links), decided_by=command.by))
    return initiative
