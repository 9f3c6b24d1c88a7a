"""Intake's use cases through the message bus over a fake unit of work: no database, no broker."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import timedelta
from typing import Any

import pytest

from services.intake.db import ConcurrentSubmission, NewReferenceYear
from services.intake.domain import Status
from services.intake.handlers import (
    AcceptInitiative,
    AddNote,
    AnswerInformationRequest,
    AssignLead,
    EraseExpiredOriginators,
    EraseOriginator,
    GetInitiative,
    GetInitiativeDetails,
    IdempotencyKeyReused,
    RejectInitiative,
    RequestInformation,
    SubmitInitiative,
    WithdrawInitiative,
    events,
)
from services.intake.schemas import InitiativeCreate, InitiativeDetail, OriginatorView
from services.intake.tests.factories import valid_initiative
from services.intake.tests.unit.fakes import FakeUnitOfWork, InMemoryInitiatives
from shared.contracts import Envelope
from shared.contracts.groups import GroupFormed, GroupMember, GroupProposed
from shared.erasure import SubjectKind
from shared.errors import InvalidTransition, NotFound
from shared.messagebus import MessageBus


def submission(
    idempotency_key: str | None = None, registered_by: str | None = None, **changes: Any
) -> SubmitInitiative:
    return InitiativeCreate.model_validate(valid_initiative(**changes)).to_command(idempotency_key, registered_by)


def event_types(uow: FakeUnitOfWork) -> list[str]:
    return [type(e).__name__ for e in uow.stored.events]


async def test_submitting_then_accepting_emits_submitted_then_accepted(
    bus: MessageBus[FakeUnitOfWork], uow: FakeUnitOfWork
) -> None:
    receipt, created = await bus.handle(submission())
    assert created and receipt.status is Status.SUBMITTED and receipt.reference == "MM-2026-0001"

    accepted = await bus.handle(AcceptInitiative(receipt.id, "eva@malmo.se"))

    assert accepted.status is Status.ACCEPTED
    assert uow.stored.initiatives[receipt.id].status is Status.ACCEPTED
    assert event_types(uow) == ["InitiativeSubmitted", "InitiativeAccepted"]
    submitted, decided = uow.stored.events
    assert submitted.model_dump()["originator"]["organisation_number"] == "556036-0793"
    assert decided.model_dump()["decided_by"] == "eva@malmo.se"
    assert decided.model_dump()["status_url"].startswith("https://intake.example/my/initiatives/")


async def test_accepting_twice_is_refused_and_emits_nothing_more(
    bus: MessageBus[FakeUnitOfWork], uow: FakeUnitOfWork
) -> None:
    receipt, _ = await bus.handle(submission())
    await bus.handle(AcceptInitiative(receipt.id, "eva@malmo.se"))

    with pytest.raises(InvalidTransition) as refused:
        await bus.handle(AcceptInitiative(receipt.id, "bo@malmo.se"))

    assert refused.value.current_status == "accepted"
    assert event_types(uow) == ["InitiativeSubmitted", "InitiativeAccepted"]
    assert [h.to_status for h in uow.stored.initiatives[receipt.id].history] == [Status.SUBMITTED, Status.ACCEPTED]


async def test_a_resubmission_with_the_same_idempotency_key_returns_the_first_receipt(
    bus: MessageBus[FakeUnitOfWork], uow: FakeUnitOfWork
) -> None:
    first, created = await bus.handle(submission("portal-7f3a"))
    again, created_again = await bus.handle(submission("portal-7f3a"))

    assert created and not created_again
    assert again == first
    assert len(uow.stored.initiatives) == 1 and event_types(uow) == ["InitiativeSubmitted"]
    with pytest.raises(IdempotencyKeyReused):
        await bus.handle(submission("portal-7f3a", title="Another idea entirely"))
    assert len(uow.stored.initiatives) == 1


async def test_an_empty_idempotency_key_is_no_key_and_remembers_no_receipt(
    bus: MessageBus[FakeUnitOfWork], uow: FakeUnitOfWork
) -> None:
    # Found by schemathesis: an empty key was stored as a receipt's key, and the next empty one failed with 500.
    (first, created), (second, created_again) = [await bus.handle(submission("")) for _ in range(2)]

    assert created and created_again and first.id != second.id
    assert uow.stored.receipts == {}


async def test_the_years_first_submission_sent_twice_at_once_answers_the_first_receipt_after_losing_both_races(
    bus: MessageBus[FakeUnitOfWork], uow: FakeUnitOfWork, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two replicas get the same request at once, the year's first: this one finds the year's sequence
    missing (NewReferenceYear, made meanwhile), then, on its second try, finds the other's receipt stored
    under the key just before its own (ConcurrentSubmission). It answers the other's receipt, not a 500."""
    races = {"new year": 1, "concurrent key": 1}  # each race is lost once
    count_up, add = InMemoryInitiatives.next_reference_number, InMemoryInitiatives.add

    async def first_of_the_year(self: InMemoryInitiatives, year: int) -> int:
        if races["new year"]:
            races["new year"] -= 1
            raise NewReferenceYear(f"reference numbers of {year} begin")
        return await count_up(self, year)

    async def after_the_other(self: InMemoryInitiatives, initiative: Any, event_row: Any, **key: Any) -> None:
        if races["concurrent key"]:  # the other replica committed its receipt first: nothing of this one is stored
            races["concurrent key"] -= 1
            other = dataclasses.replace(initiative.receipt, id=uuid.uuid4())
            uow.stored.receipts[key["idempotency_key"]] = (key["fingerprint"], other)
            raise ConcurrentSubmission(f"Idempotency-Key {key['idempotency_key']!r} was used by a concurrent request")
        await add(self, initiative, event_row, **key)

    monkeypatch.setattr(InMemoryInitiatives, "next_reference_number", first_of_the_year)
    monkeypatch.setattr(InMemoryInitiatives, "add", after_the_other)

    receipt, created = await bus.handle(submission("portal-first-of-2026"))

    assert not created and receipt == uow.stored.receipts["portal-first-of-2026"][1]
    assert uow.stored.initiatives == {} and event_types(uow) == []  # this one stored nothing


async def test_references_count_up_and_a_similar_idea_is_hinted_as_a_duplicate_to_its_reviewer(
    bus: MessageBus[FakeUnitOfWork], uow: FakeUnitOfWork
) -> None:
    first, _ = await bus.handle(submission())
    second, _ = await bus.handle(submission(title="Sommarjobb för unga i Rosengård 2027"))

    assert (first.reference, second.reference) == ("MM-2026-0001", "MM-2026-0002")
    # The submission itself reads no other initiative: the hint is found when a coordinator opens the detail.
    assert (await bus.handle(GetInitiativeDetails(first.id))).possible_duplicates == []  # nothing came before it
    details = await bus.handle(GetInitiativeDetails(second.id))
    assert [d.reference for d in details.possible_duplicates] == [first.reference]


async def test_an_information_request_is_answered_and_the_initiative_is_submitted_again(
    bus: MessageBus[FakeUnitOfWork], uow: FakeUnitOfWork
) -> None:
    receipt, _ = await bus.handle(submission())
    await bus.handle(RequestInformation(receipt.id, "eva@malmo.se", "Vilka fler är med?"))
    asked = await bus.handle(GetInitiative(receipt.id))
    assert asked.status is Status.INFO_REQUESTED and asked.pending_question == "Vilka fler är med?"

    answered = await bus.handle(AnswerInformationRequest(receipt.id, "Två skolor", summary="Ny sammanfattning"))

    assert answered.status is Status.SUBMITTED and answered.summary == "Ny sammanfattning"
    assert event_types(uow) == ["InitiativeSubmitted", "InitiativeInfoRequested", "InitiativeUpdated"]


async def test_a_decision_that_lost_a_race_is_made_once_more_on_fresh_state(
    bus: MessageBus[FakeUnitOfWork], uow: FakeUnitOfWork
) -> None:
    receipt, _ = await bus.handle(submission())
    uow.conflicts = 1

    rejected = await bus.handle(RejectInitiative(receipt.id, "eva@malmo.se", "Not a collaboration"))

    assert rejected.status is Status.REJECTED
    assert event_types(uow) == ["InitiativeSubmitted", "InitiativeRejected"]  # the lost attempt emitted nothing
    assert len(uow.stored.initiatives[receipt.id].history) == 2


async def test_an_unknown_initiative_is_not_found(bus: MessageBus[FakeUnitOfWork], uow: FakeUnitOfWork) -> None:
    with pytest.raises(NotFound):
        await bus.handle(WithdrawInitiative(uuid.uuid4(), "originator"))
    assert uow.commits == 0


async def test_group_events_move_the_initiative_on_and_a_replay_changes_nothing(
    bus: MessageBus[FakeUnitOfWork], uow: FakeUnitOfWork
) -> None:
    receipt, _ = await bus.handle(submission())
    await bus.handle(AcceptInitiative(receipt.id, "eva@malmo.se"))
    member = GroupMember(role="resource", name="Bo", email="bo@example.se", organisation_name="Malmö stad")
    facts = {
        "group_id": uuid.uuid4(),
        "initiative_id": receipt.id,
        "initiative_reference": "r",
        "initiative_title": "t",
    }
    proposed = GroupProposed(**facts, members=(member,), review_url="http://matching.example/x")
    formed = GroupFormed(**facts, members=(member,))

    for event, handler in [
        (proposed, events.on_group_proposed),
        (proposed, events.on_group_proposed),
        (formed, events.on_group_formed),
        (formed, events.on_group_formed),
    ]:
        async with uow:  # the consumer opens and commits the unit of work
            await bus.bind(handler)(event, uow, Envelope.wrap(event, producer="matching"))
            await uow.commit()

    history = uow.stored.initiatives[receipt.id].history
    assert [h.to_status for h in history] == [
        Status.SUBMITTED,
        Status.ACCEPTED,
        Status.GROUP_FORMING,
        Status.GROUP_FORMED,
    ]
    assert event_types(uow) == ["InitiativeSubmitted", "InitiativeAccepted"]  # status moves are not announced


async def test_a_lead_is_assigned_told_in_an_event_and_the_same_lead_again_emits_nothing(
    bus: MessageBus[FakeUnitOfWork], uow: FakeUnitOfWork
) -> None:
    receipt, _ = await bus.handle(submission())

    await bus.handle(AssignLead(receipt.id, "eva@malmo.se", "eva@malmo.se"))
    await bus.handle(AssignLead(receipt.id, "olle@malmo.se", "eva@malmo.se"))  # already hers: no step
    unassigned = await bus.handle(AssignLead(receipt.id, "olle@malmo.se", None))

    assert unassigned.lead is None and uow.stored.initiatives[receipt.id].lead is None
    assert event_types(uow) == ["InitiativeSubmitted", "InitiativeLeadAssigned", "InitiativeLeadAssigned"]
    assigned = uow.stored.events[1].model_dump()
    assert (assigned["lead"], assigned["assigned_by"], assigned["status"]) == (
        "eva@malmo.se",
        "eva@malmo.se",
        "submitted",
    )
    view = OriginatorView.from_domain(await bus.handle(GetInitiative(receipt.id)))
    assert [h.action for h in view.history] == ["submit"]  # the staff's business


async def test_a_private_note_is_shown_to_staff_and_its_event_carries_no_text(
    bus: MessageBus[FakeUnitOfWork], uow: FakeUnitOfWork
) -> None:
    receipt, _ = await bus.handle(submission())

    await bus.handle(AddNote(receipt.id, "eva@malmo.se", "Ringde Anna: rektorn är tveksam."))

    detail = InitiativeDetail.from_details(await bus.handle(GetInitiativeDetails(receipt.id)))
    assert [(n.author, n.text) for n in detail.notes] == [("eva@malmo.se", "Ringde Anna: rektorn är tveksam.")]
    (_, added) = uow.stored.events
    assert type(added).__name__ == "InitiativeNoteAdded"
    assert added.model_dump()["author"] == "eva@malmo.se" and added.model_dump()["added_at"] == detail.notes[0].at
    assert "rektorn" not in added.model_dump_json()
    view = OriginatorView.from_domain(await bus.handle(GetInitiative(receipt.id)))
    assert "rektorn" not in view.model_dump_json()


async def test_an_initiative_registered_at_a_meeting_gets_its_channel_and_the_originator_the_receipt(
    bus: MessageBus[FakeUnitOfWork], uow: FakeUnitOfWork
) -> None:
    receipt, created = await bus.handle(submission(registered_by="eva@malmo.se"))

    stored = uow.stored.initiatives[receipt.id]
    assert created and stored.channel.value == "meeting" and stored.registered_by == "eva@malmo.se"
    assert stored.history[0].actor == "eva@malmo.se"
    (submitted,) = uow.stored.events
    facts = submitted.model_dump()
    assert facts["channel"] == "meeting" and facts["registered_by"] == "eva@malmo.se"
    assert facts["status_url"].startswith("https://intake.example/my/initiatives/")  # the receipt's private link


def test_an_initiative_submitted_before_channels_existed_still_parses_as_from_the_portal() -> None:
    from shared.contracts.initiatives import InitiativeSubmitted

    event = InitiativeSubmitted.model_validate(
        {
            "initiative_id": str(uuid.uuid4()), "reference": "MM-2026-0001", "status": "submitted",
            "title": "Sommarjobb", "summary": "Jobb", "themes": ["employment"], "seeking": [],
            "competences_needed": [], "group_size_min": 3, "group_size_max": 6, "language": "sv",
            "originator": {"organisation_name": "Acme", "organisation_type": "business", "contact_name": "Anna",
                           "contact_email": "anna@acme.example"},
            "status_url": "https://web.example/my/initiatives/t", "submitted_at": "2026-11-27T09:00:00+00:00",
        }
    )  # fmt: skip
    assert event.channel == "portal" and event.registered_by is None


async def test_erasing_the_originator_blanks_the_contact_everywhere_in_the_initiative_and_emits_once(
    bus: MessageBus[FakeUnitOfWork], uow: FakeUnitOfWork
) -> None:
    receipt, _ = await bus.handle(submission("portal-erase"))
    contact = uow.stored.initiatives[receipt.id].originator
    await bus.handle(RequestInformation(receipt.id, "eva@malmo.se", f"Ring {contact.contact_name} om budgeten"))
    await bus.handle(AddNote(receipt.id, "eva@malmo.se", f"Mejlade {contact.contact_email}"))

    erased = await bus.handle(EraseOriginator(receipt.id, "eva@malmo.se"))
    again = await bus.handle(EraseOriginator(receipt.id, "bo@malmo.se"))

    stored = uow.stored.initiatives[receipt.id]
    assert erased.originator.contact_erased and again.originator.contact_erased
    assert (stored.originator.contact_name, stored.originator.contact_email, stored.originator.contact_phone) == (
        "(erased)",
        "",
        None,
    )
    assert stored.originator.organisation_name == contact.organisation_name and stored.status is Status.INFO_REQUESTED
    texts = [h.note or "" for h in stored.history] + [n.text for n in stored.notes]
    assert not [t for t in texts if contact.contact_name in t or contact.contact_email in t]
    assert [(h.action.value, h.actor) for h in stored.history][-1] == ("erase_originator", "eva@malmo.se")
    assert event_types(uow).count("OriginatorErased") == 1  # the second erasure changed nothing
    assert uow.sent_events.forgotten == [(SubjectKind.ORIGINATOR, receipt.id)]
    assert uow.stored.receipts["portal-erase"][0] == ""  # the fingerprint of a body with the contact goes
    with pytest.raises(IdempotencyKeyReused):  # a retry is refused, never a second initiative
        await bus.handle(submission("portal-erase"))
    view = OriginatorView.from_domain(stored)
    assert "erase_originator" not in [step.action for step in view.history]


async def test_erasing_the_originator_of_an_unknown_initiative_is_not_found(bus: MessageBus[FakeUnitOfWork]) -> None:
    with pytest.raises(NotFound):
        await bus.handle(EraseOriginator(uuid.uuid4(), "eva@malmo.se"))


async def test_the_retention_erases_only_initiatives_ended_before_it(
    bus: MessageBus[FakeUnitOfWork], uow: FakeUnitOfWork
) -> None:
    rejected, _ = await bus.handle(submission(title="Gammalt och avslaget"))
    await bus.handle(RejectInitiative(rejected.id, "eva@malmo.se", "Inte för oss"))
    still_open, _ = await bus.handle(submission(title="Fortfarande öppet"))
    erased = await bus.handle(EraseExpiredOriginators(keep=timedelta(0)))  # the fake clock ticks on: "ended before now"
    assert erased == 1
    assert uow.stored.initiatives[rejected.id].originator.contact_erased
    assert uow.stored.initiatives[rejected.id].history[-1].actor == "retention"
    assert not uow.stored.initiatives[still_open.id].originator.contact_erased
    assert await bus.handle(EraseExpiredOriginators(keep=timedelta(days=365))) == 0
    assert event_types(uow).count("OriginatorErased") == 1
