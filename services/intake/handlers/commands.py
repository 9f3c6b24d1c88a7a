"""What the portal, the originator and the coordinators ask intake to do: one handler per command.

Each handler opens the unit of work, asks the aggregate, emits the event, commits. A decision that lost
a race with a concurrent writer runs once more on fresh state (`retry_once_on`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog

from services.intake.db import ConcurrentSubmission, ConcurrentUpdate, IntakeUnitOfWork, NewReferenceYear
from services.intake.domain import Initiative, Proposal, Receipt, format_reference
from services.intake.links import StatusLinks
from shared.contracts.initiatives import (
    InitiativeAccepted,
    InitiativeClosed,
    InitiativeEvent,
    InitiativeInfoRequested,
    InitiativeLeadAssigned,
    InitiativeNoteAdded,
    InitiativeRejected,
    InitiativeStatusLinkRequested,
    InitiativeSubmitted,
    InitiativeUpdated,
    InitiativeWithdrawn,
    OriginatorErased,
)
from shared.contracts.initiatives import Originator as OriginatorContract
from shared.db import Clock
from shared.erasure import SubjectKind
from shared.messagebus import retry_once_on

log = structlog.get_logger(__name__)


class IdempotencyKeyReused(Exception):
    """The Idempotency-Key was used before for a different request."""


@dataclass(frozen=True)
class SubmitInitiative:
    """The portal's submission; a retry carries the same Idempotency-Key and request fingerprint. A coordinator
    who registers it on the originator's behalf (received at a personal meeting) is `registered_by`."""

    proposal: Proposal
    idempotency_key: str | None = None
    fingerprint: str = ""
    registered_by: str | None = None


@dataclass(frozen=True)
class Decision:
    """A step someone takes on one initiative: a coordinator's email, or "originator"."""

    initiative_id: uuid.UUID
    by: str


@dataclass(frozen=True)
class AcceptInitiative(Decision):
    """A coordinator accepts: matching starts forming a group."""


@dataclass(frozen=True)
class RejectInitiative(Decision):
    reason: str


@dataclass(frozen=True)
class RequestInformation(Decision):
    message: str


@dataclass(frozen=True)
class AnswerInformationRequest:
    """The originator answers, optionally improving the summary and the description."""

    initiative_id: uuid.UUID
    answer: str
    summary: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class WithdrawInitiative(Decision):
    reason: str | None = None


@dataclass(frozen=True)
class CloseInitiative(Decision):
    """A coordinator closes the initiative once its group has done its work."""


@dataclass(frozen=True)
class AssignLead(Decision):
    """A coordinator makes `lead` the initiative's lead coordinator, or nobody (None)."""

    lead: str | None


@dataclass(frozen=True)
class AddNote(Decision):
    """A coordinator's private note on the initiative."""

    text: str


@dataclass(frozen=True)
class EraseOriginator(Decision):
    """Forget the originator's contact person (on their request through a coordinator, or after the
    retention of an ended initiative: `by` is then the retention job)."""


@dataclass(frozen=True)
class RequestStatusLink:
    """Someone who lost their status link asks for a new one: the initiative's reference and the contact email
    the originator gave. Only a matching pair does anything; the asker is told the same either way."""

    reference: str
    email: str


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
        "status_url": links.versioned_url(initiative.id, initiative.status_link_version),
    }


# Two races, each retried once on its own: the year's first submission may find its sequence just being
# made, and then, on that second try, a concurrent request's receipt for the same key (two replicas).
@retry_once_on(ConcurrentSubmission)
@retry_once_on(NewReferenceYear)
async def submit_initiative(
    command: SubmitInitiative, uow: IntakeUnitOfWork, clock: Clock, links: StatusLinks
) -> tuple[Receipt, bool]:
    """Store a new initiative; returns (receipt, created). A retried Idempotency-Key gets the first receipt.

    Nothing here reads other initiatives or waits on a shared row: the duplicate hint is found when a
    coordinator reviews it (queries.get_initiative_details) and the reference comes from a sequence."""
    async with uow.in_one_statement():  # every write below is the initiative's one statement: no BEGIN, COMMIT
        if command.idempotency_key and (earlier := await _earlier_receipt(uow, command)) is not None:
            return earlier, False
        now = clock()
        number = await uow.initiatives.next_reference_number(now.year)
        initiative = Initiative.submit(
            command.proposal,
            id=uuid.uuid4(),
            reference=format_reference(now.year, number),
            at=now,
            registered_by=command.registered_by,
        )
        facts = {"channel": initiative.channel.value, "registered_by": initiative.registered_by}
        _, event_row = uow.outbox_row(InitiativeSubmitted(**_snapshot(initiative, links), submitted_at=now, **facts))
        # The event and the key's receipt are stored in the initiative's statement.
        await uow.initiatives.add(
            initiative, event_row, idempotency_key=command.idempotency_key or None, fingerprint=command.fingerprint
        )
        await uow.commit()
    log.debug(  # one per request: DEBUG, so a busy portal does not pay a log line per submission
        "initiative.submitted",
        initiative_id=str(initiative.id),
        reference=initiative.reference,
        channel=initiative.channel.value,
    )
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


@retry_once_on(ConcurrentUpdate)
async def _change(
    uow: IntakeUnitOfWork,
    links: StatusLinks,
    initiative_id: uuid.UUID,
    step: Callable[[Initiative], bool | None],
    event: type[InitiativeEvent],
    **facts: Any,
) -> Initiative:
    """Take `step` on the initiative loaded with a row lock, emit `event` with its snapshot after the step
    and `facts`, save and commit; a step that answers False changed nothing, and nothing is emitted or saved.
    When another writer slipped in meanwhile (SQLite has no row locks), the step is taken once more on fresh
    state."""
    async with uow:
        initiative = await uow.initiatives.get(initiative_id, for_update=True)
        if step(initiative) is False:
            return initiative
        await uow.emit(event(**_snapshot(initiative, links), **facts))
        await uow.initiatives.save(initiative)
        await uow.commit()
    return initiative


async def accept_initiative(
    command: AcceptInitiative, uow: IntakeUnitOfWork, clock: Clock, links: StatusLinks
) -> Initiative:
    def accept(initiative: Initiative) -> None:
        initiative.accept(command.by, clock())

    return await _change(uow, links, command.initiative_id, accept, InitiativeAccepted, decided_by=command.by)


async def reject_initiative(
    command: RejectInitiative, uow: IntakeUnitOfWork, clock: Clock, links: StatusLinks
) -> Initiative:
    def reject(initiative: Initiative) -> None:
        initiative.reject(command.by, command.reason, clock())

    facts = {"decided_by": command.by, "reason": command.reason}
    return await _change(uow, links, command.initiative_id, reject, InitiativeRejected, **facts)


async def request_information(
    command: RequestInformation, uow: IntakeUnitOfWork, clock: Clock, links: StatusLinks
) -> Initiative:
    def ask(initiative: Initiative) -> None:
        initiative.request_info(command.by, command.message, clock())

    facts = {"decided_by": command.by, "message": command.message}
    return await _change(uow, links, command.initiative_id, ask, InitiativeInfoRequested, **facts)


async def answer_information_request(
    command: AnswerInformationRequest, uow: IntakeUnitOfWork, clock: Clock, links: StatusLinks
) -> Initiative:
    def answer(initiative: Initiative) -> None:
        initiative.answer(command.answer, clock(), summary=command.summary, description=command.description)

    return await _change(uow, links, command.initiative_id, answer, InitiativeUpdated, answer=command.answer)


async def withdraw_initiative(
    command: WithdrawInitiative, uow: IntakeUnitOfWork, clock: Clock, links: StatusLinks
) -> Initiative:
    def withdraw(initiative: Initiative) -> None:
        initiative.withdraw(command.by, clock(), command.reason)

    facts = {"withdrawn_by": command.by, "reason": command.reason}
    return await _change(uow, links, command.initiative_id, withdraw, InitiativeWithdrawn, **facts)


async def close_initiative(
    command: CloseInitiative, uow: IntakeUnitOfWork, clock: Clock, links: StatusLinks
) -> Initiative:
    def close(initiative: Initiative) -> None:
        initiative.close(command.by, clock())

    return await _change(uow, links, command.initiative_id, close, InitiativeClosed, decided_by=command.by)


async def assign_lead(command: AssignLead, uow: IntakeUnitOfWork, clock: Clock, links: StatusLinks) -> Initiative:
    """The lead coordinator, in the history and told in InitiativeLeadAssigned; the same lead again is no step."""

    def assign(initiative: Initiative) -> bool:
        return initiative.assign_lead(command.lead, command.by, clock())

    facts = {"lead": command.lead, "assigned_by": command.by}
    return await _change(uow, links, command.initiative_id, assign, InitiativeLeadAssigned, **facts)


async def add_note(command: AddNote, uow: IntakeUnitOfWork, clock: Clock, links: StatusLinks) -> Initiative:
    """A private note kept with the initiative; InitiativeNoteAdded says who added one and when, never the text."""
    at = clock()

    def note(initiative: Initiative) -> None:
        initiative.add_note(command.by, command.text, at)

    return await _change(uow, links, command.initiative_id, note, InitiativeNoteAdded, author=command.by, added_at=at)


@retry_once_on(ConcurrentUpdate)
async def erase_originator(command: EraseOriginator, uow: IntakeUnitOfWork, clock: Clock) -> Initiative:
    """Blank the contact person's name, email and phone in the initiative, its history and notes, its
    Idempotency-Keys and the outbox (sent events naming the initiative deleted, waiting ones blanked), and
    tell the other services (OriginatorErased) in the same transaction. Erased before: nothing happens."""
    async with uow:
        initiative = await uow.initiatives.get(command.initiative_id, for_update=True)
        erased = initiative.erase_originator(command.by, clock())
        if not erased:
            return initiative
        await uow.initiatives.save(initiative)
        await uow.initiatives.blank_stored_texts(initiative.id, erased)
        await uow.sent_events.forget(SubjectKind.ORIGINATOR, initiative.id)
        await uow.emit(OriginatorErased(initiative_id=initiative.id))
        await uow.commit()
    log.info("originator.erased", initiative_id=str(initiative.id), reference=initiative.reference)
    return initiative


async def request_status_link(
    command: RequestStatusLink, uow: IntakeUnitOfWork, clock: Clock, links: StatusLinks
) -> None:
    """A matching (reference, contact email) re-issues the status link: every link sent before is revoked and
    InitiativeStatusLinkRequested carries the new one to the originator's address (never to the asker's)."""
    async with uow:
        initiative_id = await uow.initiatives.id_of_reference(command.reference.strip().upper())
        if initiative_id is None:
            return
        initiative = await uow.initiatives.get(initiative_id, for_update=True)
        if not initiative.sent_by(command.email):
            return
        initiative.reissue_status_link()
        await uow.emit(InitiativeStatusLinkRequested(**_snapshot(initiative, links), requested_at=clock()))
        await uow.initiatives.save(initiative)
        await uow.commit()
    version = initiative.status_link_version
    log.info("initiative.status_link_reissued", initiative_id=str(initiative.id), link_version=version)
