"""The Initiative aggregate, without I/O: its state machine, history, references and duplicate hint."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.intake.domain import (
    TRANSITIONS,
    Action,
    Channel,
    DuplicateCandidate,
    Initiative,
    Proposal,
    Status,
    format_reference,
    likely_duplicates,
)
from services.intake.domain.duplicates import MAX_DUPLICATE_HINTS
from services.intake.tests.factories import NOW, new_initiative
from shared.errors import InvalidTransition

TERMINAL = {Status.REJECTED, Status.WITHDRAWN, Status.CLOSED}


def apply(initiative: Initiative, action: Action, at: datetime) -> None:
    match action:
        case Action.ACCEPT:
            initiative.accept("eva", at)
        case Action.REJECT:
            initiative.reject("eva", "not a collaboration", at)
        case Action.REQUEST_INFO:
            initiative.request_info("eva", "Who else is involved?", at)
        case Action.ANSWER:
            initiative.answer("Malmö Stad too", at)
        case Action.WITHDRAW:
            initiative.withdraw("originator", at)
        case Action.CLOSE:
            initiative.close("eva", at)
        case Action.START_GROUP_FORMING:
            initiative.group_proposed(at)
        case Action.MARK_GROUP_FORMED:
            initiative.group_formed(at)


def test_a_new_initiative_is_submitted_with_one_history_entry() -> None:
    initiative = new_initiative()
    assert initiative.status is Status.SUBMITTED
    assert [(h.action, h.to_status) for h in initiative.history] == [(Action.SUBMIT, Status.SUBMITTED)]


def test_accepting_twice_is_refused_naming_the_current_status() -> None:
    initiative = new_initiative()
    initiative.accept("eva", NOW)
    with pytest.raises(InvalidTransition) as refused:
        initiative.accept("eva", NOW)
    assert refused.value.current_status == "accepted"
    assert len(initiative.history) == 2


def test_an_information_request_is_answered_and_the_initiative_is_submitted_again() -> None:
    initiative = new_initiative()
    initiative.request_info("eva", "Who pays?", NOW)
    assert initiative.pending_question == "Who pays?"
    initiative.answer("We do", NOW + timedelta(hours=1), summary="Acme pays the salaries")
    assert initiative.status is Status.SUBMITTED and initiative.pending_question is None
    assert initiative.summary == "Acme pays the salaries"
    assert initiative.history[-1].note == "We do"


def test_rejecting_an_accepted_initiative_is_refused() -> None:
    initiative = new_initiative()
    initiative.accept("eva", NOW)
    with pytest.raises(InvalidTransition):
        initiative.reject("eva", "changed my mind", NOW)
    assert initiative.status is Status.ACCEPTED


def test_matching_events_move_an_accepted_initiative_on_and_replays_change_nothing() -> None:
    initiative = new_initiative()
    initiative.accept("eva", NOW)
    assert initiative.group_proposed(NOW) is True
    assert initiative.group_proposed(NOW) is False  # replayed GroupProposed
    assert initiative.group_formed(NOW) is True
    assert initiative.group_formed(NOW) is False
    assert initiative.group_proposed(NOW) is False  # a late proposal does not move it back
    assert initiative.status is Status.GROUP_FORMED
    initiative.close("eva", NOW)
    assert initiative.status is Status.CLOSED


def test_a_late_group_proposal_for_a_withdrawn_initiative_changes_nothing() -> None:
    initiative = new_initiative()
    initiative.accept("eva", NOW)
    initiative.withdraw("originator", NOW, "no longer needed")
    assert initiative.group_proposed(NOW) is False
    assert initiative.status is Status.WITHDRAWN


@given(st.lists(st.sampled_from(list(Action)), max_size=12))
def test_no_sequence_of_actions_breaks_the_state_machine(actions: list[Action]) -> None:
    initiative = new_initiative()
    at = NOW
    for action in actions:
        if action is Action.SUBMIT:
            continue
        at += timedelta(minutes=1)
        before, history_length = initiative.status, len(initiative.history)
        if action is Action.ASSIGN_LEAD:  # staff business: possible in any status, the status stays
            assert initiative.assign_lead(f"coordinator-{history_length}@malmo.se", "eva", at)
            assert initiative.status is before and initiative.history[-1].to_status is before
            continue
        if action is Action.ERASE_ORIGINATOR:  # in any status, once: the status stays, the contact goes
            erased_before = initiative.originator.contact_erased
            assert bool(initiative.erase_originator("eva", at)) is not erased_before
            assert initiative.status is before and initiative.originator.contact_erased
            continue
        allowed_from, target = TRANSITIONS[action]
        try:
            apply(initiative, action, at)
        except InvalidTransition as refused:
            assert before not in allowed_from
            assert refused.current_status == before.value
            assert (initiative.status, len(initiative.history)) == (before, history_length)
            continue
        if initiative.status is before:  # a consumer-driven move that found nothing to do
            assert len(initiative.history) == history_length
            continue
        assert before in allowed_from and initiative.status is target
        assert before not in TERMINAL
        assert len(initiative.history) == history_length + 1
        assert initiative.history[-1].from_status is before and initiative.history[-1].at == at
    assert [h.to_status for h in initiative.history][-1] is initiative.status


def test_references_have_the_year_and_at_least_four_digits() -> None:
    assert format_reference(2026, 42) == "MM-2026-0042"
    assert format_reference(2027, 12345) == "MM-2027-12345"


def test_duplicates_are_hinted_by_organisation_number_or_similar_title_and_summary() -> None:
    same_org = DuplicateCandidate(uuid.uuid4(), "Something else entirely", "Other", "556036-0793")
    similar = DuplicateCandidate(uuid.uuid4(), "Sommarjobb för unga i Rosengård", "Companies offer summer jobs", None)
    unrelated = DuplicateCandidate(uuid.uuid4(), "Solar panels on schools", "Energy", "212000-1124")
    found = likely_duplicates(
        "Sommarjobb för unga i Rosengård 2027",
        "Companies offer summer jobs to young people",
        "556036-0793",
        [same_org, similar, unrelated],
    )
    assert set(found) == {same_org.id, similar.id}
    assert likely_duplicates("Solar panels", "x", None, [similar]) == ()


def test_the_duplicate_hint_keeps_only_the_most_alike_few() -> None:
    # Issue 12: after 1,075 similar submissions the hint held 1,074 entries; now at most MAX_DUPLICATE_HINTS.
    exact = DuplicateCandidate(uuid.uuid4(), "Sommarjobb för unga i Rosengård", "Sommarjobb för unga", None)
    alike = [
        DuplicateCandidate(uuid.uuid4(), f"Sommarjobb för unga i Rosengård {n}", "Sommarjobb", None)
        for n in range(3 * MAX_DUPLICATE_HINTS)
    ]
    found = likely_duplicates("Sommarjobb för unga i Rosengård", "Sommarjobb för unga", None, [*alike, exact])
    assert len(found) == MAX_DUPLICATE_HINTS
    assert found[0] == exact.id  # the most alike first


def test_a_lead_is_assigned_and_unassigned_in_the_history_without_moving_the_status() -> None:
    initiative = new_initiative()
    assert initiative.lead is None

    assert initiative.assign_lead("eva@malmo.se", "eva@malmo.se", NOW + timedelta(minutes=1))
    assert initiative.assign_lead("eva@malmo.se", "olle@malmo.se", NOW + timedelta(minutes=2)) is False  # no step
    assert initiative.assign_lead(None, "olle@malmo.se", NOW + timedelta(minutes=3))

    steps = [(h.action, h.actor, h.note, h.to_status) for h in initiative.history[1:]]
    assert steps == [
        (Action.ASSIGN_LEAD, "eva@malmo.se", "eva@malmo.se", Status.SUBMITTED),
        (Action.ASSIGN_LEAD, "olle@malmo.se", None, Status.SUBMITTED),
    ]
    assert initiative.lead is None and initiative.status is Status.SUBMITTED
    assert initiative.updated_at == NOW + timedelta(minutes=3)
    assert [c.action for c in initiative.status_changes] == [Action.SUBMIT]


def test_the_open_question_survives_a_lead_assigned_after_it() -> None:
    initiative = new_initiative()
    initiative.request_info("eva", "Vilka skolor är med?", NOW)
    initiative.assign_lead("eva", "eva", NOW)
    assert initiative.pending_question == "Vilka skolor är med?"


def test_a_note_is_kept_with_its_author_and_changes_neither_status_nor_history() -> None:
    initiative = new_initiative()
    note = initiative.add_note("eva@malmo.se", "Ringde Anna.", NOW + timedelta(hours=1))
    assert initiative.notes == [note] and note.author == "eva@malmo.se" and note.text == "Ringde Anna."
    assert len(initiative.history) == 1 and initiative.updated_at == NOW


def test_an_initiative_registered_by_a_coordinator_came_from_a_meeting() -> None:
    portal = new_initiative()
    assert (portal.channel, portal.registered_by, portal.history[0].actor) == (Channel.PORTAL, None, "originator")
    proposal = Proposal(**{f.name: getattr(portal, f.name) for f in dataclasses.fields(Proposal)})
    meeting = Initiative.submit(proposal, id=uuid.uuid4(), reference="MM-2026-0002", at=NOW, registered_by="eva")
    assert (meeting.channel, meeting.registered_by, meeting.history[0].actor) == (Channel.MEETING, "eva", "eva")
