"""Intake's use cases through the message bus over a fake unit of work: no database, no broker."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from services.intake.domain import Status
from services.intake.handlers import (
    AcceptInitiative,
    AnswerInformationRequest,
    GetInitiative,
    GetInitiativeDetails,
    IdempotencyKeyReused,
    RejectInitiative,
    RequestInformation,
    SubmitInitiative,
    WithdrawInitiative,
    events,
)
from services.intake.schemas import InitiativeCreate
from services.intake.tests.factories import valid_initiative
from services.intake.tests.unit.fakes import FakeUnitOfWork
from shared.contracts import Envelope
from shared.contracts.groups import GroupFormed, GroupMember, GroupProposed
from shared.errors import InvalidTransition, NotFound
from shared.messagebus import MessageBus


def submission(idempotency_key: str | None = None, **changes: Any) -> SubmitInitiative:
    return InitiativeCreate.model_validate(valid_initiative(**changes)).to_command(idempotency_key)


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


async def test_references_count_up_and_a_similar_idea_is_hinted_as_a_duplicate(
    bus: MessageBus[FakeUnitOfWork],
) -> None:
    first, _ = await bus.handle(submission())
    second, _ = await bus.handle(submission(title="Sommarjobb för unga i Rosengård 2027"))

    assert (first.reference, second.reference) == ("MM-2026-0001", "MM-2026-0002")
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
