"""Intake's use cases: each opens a unit of work, asks the aggregate, emits the event, commits."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import structlog
from sqlalchemy.exc import IntegrityError

from services.intake.db import ConcurrentUpdate, IntakeUnitOfWork
from services.intake.domain import Initiative, Originator, format_reference, likely_duplicates
from shared.contracts import Envelope
from shared.contracts.groups import GroupFormed, GroupProposed
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
from shared.links import LinkSigner
from shared.taxonomy import Competence, Language, Seeking, Theme

log = structlog.get_logger(__name__)
T = TypeVar("T")


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


class IdempotencyKeyReused(Exception):
    """The Idempotency-Key was used before for a different request."""


class StatusLinks:
    """The originator's private status link: signed, so it needs no account and no stored secret."""

    def __init__(self, public_url: str, secret: str) -> None:
        self._base = public_url.rstrip("/")
        self._signer = LinkSigner(secret, "initiative-status")

    def token(self, initiative_id: uuid.UUID) -> str:
        return self._signer.token(str(initiative_id))

    def url(self, initiative_id: uuid.UUID) -> str:
        return f"{self._base}/my/initiatives/{self.token(initiative_id)}"

    def initiative_id(self, token: str) -> uuid.UUID:
        return uuid.UUID(self._signer.subject(token))


class IntakeHandlers:
    def __init__(
        self,
        uow_factory: Callable[[], IntakeUnitOfWork],
        links: StatusLinks,
        clock: Callable[[], datetime],
        receipt: Callable[[Initiative], dict[str, Any]],
    ) -> None:
        self._uow = uow_factory
        self._links = links
        self._clock = clock
        self._receipt = receipt  # the 201 body, remembered for idempotent retries

    def _snapshot(self, initiative: Initiative) -> dict[str, Any]:
        o = initiative.originator
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
            "originator": OriginatorContract(
                organisation_name=o.organisation_name,
                organisation_type=o.organisation_type,
                organisation_number=o.organisation_number,
                contact_name=o.contact_name,
                contact_email=o.contact_email,
                contact_phone=o.contact_phone,
            ),
            "status_url": self._links.url(initiative.id),
        }

    async def submit(self, command: SubmitInitiative) -> tuple[dict[str, Any], bool]:
        """Store a new initiative; returns (receipt, created). A retried Idempotency-Key gets the first receipt."""
        try:
            return await self._submit(command)
        except IntegrityError:
            if not command.idempotency_key:
                raise
            # A concurrent request with the same key committed first: answer with its receipt.
            return await self._submit(command)

    async def _submit(self, command: SubmitInitiative) -> tuple[dict[str, Any], bool]:
        async with self._uow() as uow:
            if command.idempotency_key and (earlier := await self._earlier_receipt(uow, command)) is not None:
                return earlier, False
            now = self._clock()
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
            receipt = self._receipt(initiative)
            if command.idempotency_key:
                await uow.initiatives.remember_response(
                    command.idempotency_key, command.fingerprint, initiative.id, receipt, now
                )
            await uow.emit(InitiativeSubmitted(**self._snapshot(initiative), submitted_at=now))
            await uow.commit()
        log.info("initiative.submitted", initiative_id=str(initiative.id), reference=initiative.reference)
        return receipt, True

    async def _earlier_receipt(self, uow: IntakeUnitOfWork, command: SubmitInitiative) -> dict[str, Any] | None:
        assert command.idempotency_key is not None
        remembered = await uow.initiatives.remembered_response(command.idempotency_key)
        if remembered is None:
            return None
        fingerprint, receipt = remembered
        if fingerprint != command.fingerprint:
            raise IdempotencyKeyReused("this Idempotency-Key was already used for a different initiative")
        return receipt

    async def _change(
        self, initiative_id: uuid.UUID, change: Callable[[IntakeUnitOfWork, Initiative], Awaitable[T]]
    ) -> T:
        """Load with a row lock, apply, save; retry once if a concurrent writer slipped in (SQLite)."""
        for attempt in (1, 2):
            try:
                async with self._uow() as uow:
                    initiative = await uow.initiatives.get(initiative_id, for_update=True)
                    result = await change(uow, initiative)
                    await uow.initiatives.save(initiative)
                    await uow.commit()
                    return result
            except ConcurrentUpdate:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def accept(self, initiative_id: uuid.UUID, by: str) -> Initiative:
        async def change(uow: IntakeUnitOfWork, initiative: Initiative) -> Initiative:
            initiative.accept(by, self._clock())
            await uow.emit(InitiativeAccepted(**self._snapshot(initiative), decided_by=by))
            return initiative

        return await self._change(initiative_id, change)

    async def reject(self, initiative_id: uuid.UUID, by: str, reason: str) -> Initiative:
        async def change(uow: IntakeUnitOfWork, initiative: Initiative) -> Initiative:
            initiative.reject(by, reason, self._clock())
            await uow.emit(InitiativeRejected(**self._snapshot(initiative), decided_by=by, reason=reason))
            return initiative

        return await self._change(initiative_id, change)

    async def request_info(self, initiative_id: uuid.UUID, by: str, message: str) -> Initiative:
        async def change(uow: IntakeUnitOfWork, initiative: Initiative) -> Initiative:
            initiative.request_info(by, message, self._clock())
            await uow.emit(InitiativeInfoRequested(**self._snapshot(initiative), decided_by=by, message=message))
            return initiative

        return await self._change(initiative_id, change)

    async def answer(
        self, initiative_id: uuid.UUID, answer: str, summary: str | None, description: str | None
    ) -> Initiative:
        async def change(uow: IntakeUnitOfWork, initiative: Initiative) -> Initiative:
            initiative.answer(answer, self._clock(), summary=summary, description=description)
            await uow.emit(InitiativeUpdated(**self._snapshot(initiative), answer=answer))
            return initiative

        return await self._change(initiative_id, change)

    async def withdraw(self, initiative_id: uuid.UUID, by: str, reason: str | None) -> Initiative:
        async def change(uow: IntakeUnitOfWork, initiative: Initiative) -> Initiative:
            initiative.withdraw(by, self._clock(), reason)
            await uow.emit(InitiativeWithdrawn(**self._snapshot(initiative), withdrawn_by=by, reason=reason))
            return initiative

        return await self._change(initiative_id, change)

    async def close(self, initiative_id: uuid.UUID, by: str) -> Initiative:
        async def change(uow: IntakeUnitOfWork, initiative: Initiative) -> Initiative:
            initiative.close(by, self._clock())
            await uow.emit(InitiativeClosed(**self._snapshot(initiative), decided_by=by))
            return initiative

        return await self._change(initiative_id, change)

    # Consumed from matching: move the status on; a replay finds the state reached and does nothing.

    async def on_group_proposed(self, uow: IntakeUnitOfWork, event: GroupProposed, _: Envelope) -> None:
        initiative = await uow.initiatives.get(event.initiative_id, for_update=True)
        if initiative.group_proposed(self._clock()):
            await uow.initiatives.save(initiative)

    async def on_group_formed(self, uow: IntakeUnitOfWork, event: GroupFormed, _: Envelope) -> None:
        initiative = await uow.initiatives.get(event.initiative_id, for_update=True)
        if initiative.group_formed(self._clock()):
            await uow.initiatives.save(initiative)
