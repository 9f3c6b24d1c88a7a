"""Matching's domain without I/O: each hard rule on its own, the explanations, the Group's transitions,
replacements and coordinators' changes."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.matching.domain.formation import (
    RuleRefused,
    fill_vacancies,
    group_from_proposal,
    remove,
    replace,
    replacements,
    swap,
)
from services.matching.domain.group import Group, GroupStatus, Role, SeatStatus
from services.matching.domain.pool import Pool
from services.matching.domain.profiles import Contact, Resource, net_changes
from services.matching.domain.rules import explain
from services.matching.domain.solver import Infeasible, Proposal, propose
from services.matching.tests.factories import ORIGINATOR, municipal, need, person, pool_of
from shared.errors import InvalidTransition
from shared.taxonomy import Competence, OrganisationType, Theme

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=7)
R, M, F = Competence.RECRUITMENT, Competence.MENTORING, Competence.FINANCE
E, S = Theme.EMPLOYMENT, Theme.SUSTAINABILITY_AND_CLIMATE


def members(proposal: Proposal) -> set[int]:
    return {m.id.int for m in proposal.members}


def test_needed_competences_are_covered_first_then_themes_then_light_load() -> None:
    pool = pool_of(
        [
            municipal(1, themes=[E]),
            person(2, competences=[R]),
            person(3, competences=[M], load=1),
            person(4, competences=[M], load=0, themes=[E]),
            person(5, themes=[E], load=1),
            person(6, themes=[E], load=0),
            person(7),  # brings nothing: not needed once the group is big enough
        ]
    )
    proposal = propose(need(size=(3, 5)), pool.view())
    assert members(proposal) == {1, 2, 4, 5, 6}
    assert proposal.uncovered == ()
    assert proposal.members[0].id.int == 1 and proposal.solver == "cp-sat"


def test_uncovered_needs_are_reported() -> None:
    pool = pool_of([municipal(1), person(2, competences=[R]), person(3)])
    proposal = propose(need(competences=[R, M, F], size=(3, 3)), pool.view())
    assert proposal.uncovered == (M, F)


@pytest.mark.parametrize(
    ("outsider", "why"),
    [
        (person(9, competences=[R, M], capacity=2, load=2), "at capacity"),
        (person(9, competences=[R, M], languages=["en"]), "no shared language"),
        (person(9, competences=[R, M], organisation="ACME BYGG"), "the originator's organisation by name"),
        (person(9, competences=[R, M], number="5560360793"), "the originator's organisation by number"),
        (person(9, competences=[R, M], active=False), "paused"),
    ],
)
def test_a_person_who_breaks_a_rule_on_their_own_is_never_proposed(outsider: object, why: str) -> None:
    pool = pool_of([municipal(1), person(2), person(3), outsider])  # type: ignore[list-item]
    assert 9 not in members(propose(need(size=(3, 4)), pool.view())), why


def test_at_most_one_person_per_organisation() -> None:
    pool = pool_of(
        [
            municipal(1),
            person(2, organisation="Nordic Tech AB", competences=[R]),
            person(3, organisation="nordic tech", competences=[M]),
            person(4),
        ]
    )
    proposal = propose(need(size=(3, 3)), pool.view())
    assert len(members(proposal) & {2, 3}) == 1


def test_a_public_authority_represents_the_municipality_only_when_no_municipality_person_is_free() -> None:
    authority = person(5, kind=OrganisationType.PUBLIC_AUTHORITY, competences=[R, M], themes=[E])
    busy_municipal = municipal(1, capacity=1, load=1)
    proposal = propose(need(size=(2, 3)), pool_of([busy_municipal, authority, person(2)]).view())
    assert proposal.representative is OrganisationType.PUBLIC_AUTHORITY and proposal.members[0].id.int == 5
    assert proposal.explanations[authority.id].text.startswith("Municipality representative (public authority")

    free_municipal = municipal(1)
    proposal = propose(need(size=(2, 3)), pool_of([free_municipal, authority, person(2)]).view())
    assert proposal.representative is OrganisationType.MUNICIPALITY and proposal.members[0].id.int == 1


def test_no_representative_free_or_too_few_people_is_infeasible_with_a_reason() -> None:
    with pytest.raises(Infeasible, match="no municipality representative"):
        propose(need(), pool_of([person(1), person(2), person(3)]).view())
    with pytest.raises(Infeasible, match="from the 2 people free"):
        propose(need(size=(3, 5)), pool_of([municipal(1), person(2)]).view())


def test_each_member_gets_an_explanation_for_coordinators() -> None:
    member = person(2, competences=[R, F], themes=[E, S], load=1, capacity=3)
    explanation = explain(need(competences=[M, R], themes=[E]), member)
    assert explanation.competences_covered == (R,) and explanation.themes_shared == (E,)
    assert explanation.text == (
        "Covers needed competences: Recruitment. Shares themes: Employment. Load: in 1 other group, capacity 3."
    )
    assert explain(need(), person(3)).text == (
        "Covers none of the needed competences. Shares no theme with the initiative. "
        "Load: in no other group, capacity 2."
    )


def test_a_representative_who_brings_no_needed_competence_is_told_the_role_she_fills() -> None:
    bare = explain(need(), person(3), OrganisationType.MUNICIPALITY)
    assert bare.text == (
        "Municipality representative. Chosen as the municipality's representative in the group. "
        "Shares no theme with the initiative. Load: in no other group, capacity 2."
    )
    assert bare.text_in("sv") == (
        "Kommunens representant. Vald som kommunens representant i gruppen. "
        "Delar inget tema med initiativet. Belastning: i ingen annan grupp, kapacitet 2."
    )


def test_the_explanation_is_worded_in_swedish_or_english_with_the_taxonomy_labels() -> None:
    busy = explain(need(competences=[M, R], themes=[E]), person(2, competences=[R], themes=[E], load=2, capacity=3))
    assert busy.text_in("sv") == (
        "Bidrar med kompetenser som behövs: Rekrytering. Delar teman: Sysselsättning. "
        "Belastning: i 2 andra grupper, kapacitet 3."
    )
    assert (
        busy.text_in("en")
        == busy.text
        == ("Covers needed competences: Recruitment. Shares themes: Employment. Load: in 2 other groups, capacity 3.")
    )
    authority = explain(need(), person(3, load=1), OrganisationType.PUBLIC_AUTHORITY)
    assert authority.text_in("sv") == (
        "Kommunens representant (myndighet: ingen från kommunen var ledig). Vald som kommunens representant i "
        "gruppen. Delar inget tema med initiativet. Belastning: i 1 annan grupp, kapacitet 2."
    )


def group_of(proposal: Proposal) -> Group:
    return group_from_proposal(proposal, uuid.uuid4(), NOW)


@pytest.fixture
def pool() -> Pool:
    return pool_of(
        [
            municipal(1, competences=[R]),
            municipal(2, competences=[R]),
            person(3, competences=[M], themes=[E]),
            person(4, competences=[M]),
            person(5, themes=[E]),
            person(6),
        ]
    )


def test_a_group_is_confirmed_once_and_formed_when_every_seat_is_accepted(pool: Pool) -> None:
    group = group_of(propose(need(size=(3, 3)), pool.view()))
    with pytest.raises(InvalidTransition):
        group.accept(group.seats[0].id, NOW)  # nobody is invited before the confirmation
    invited = group.confirm("eva", NOW, LATER)
    assert {s.status for s in invited} == {SeatStatus.INVITED} and invited[0].expires_at == LATER
    with pytest.raises(InvalidTransition) as refused:
        group.confirm("eva", NOW, LATER)
    assert refused.value.current_status == "confirmed"
    for seat in invited:
        assert not group.ready_to_form()
        group.accept(seat.id, NOW)
    with pytest.raises(InvalidTransition):
        group.accept(invited[0].id, NOW)  # a link used twice
    assert group.ready_to_form()
    group.form(NOW)
    assert group.status is GroupStatus.FORMED
    assert group.dissolve("initiative withdrawn", NOW) is True and group.dissolve("again", NOW) is False


def test_a_decline_goes_to_the_best_replacement_who_is_invited(pool: Pool) -> None:
    group = group_of(propose(need(size=(3, 3)), pool.view()))
    group.confirm("eva", NOW, LATER)
    mentor = next(s for s in group.members if s.resource_id.int == 3)
    departure = replace(group, need(size=(3, 3)), pool.view(), mentor, SeatStatus.DECLINED, NOW, LATER)
    assert departure.left.status is SeatStatus.DECLINED
    assert departure.replacement is not None and departure.replacement.resource_id.int == 4  # the other mentor
    assert departure.replacement.status is SeatStatus.INVITED and departure.replacement.replaces == mentor.id
    assert group.uncovered == ()


def test_when_the_representative_declines_another_municipality_person_takes_the_seat(pool: Pool) -> None:
    group = group_of(propose(need(size=(3, 3)), pool.view()))
    group.confirm("eva", NOW, LATER)
    representative = group.representative
    assert representative is not None and representative.resource_id.int == 1
    departure = replace(group, need(size=(3, 3)), pool.view(), representative, SeatStatus.DECLINED, NOW, LATER)
    assert departure.replacement is not None and departure.replacement.resource_id.int == 2
    assert group.representative is departure.replacement
    assert departure.replacement.role is Role.MUNICIPALITY_REPRESENTATIVE
    assert departure.replacement.explanation.text.startswith("Municipality representative.")


def test_without_a_replacement_the_seat_stays_open_and_the_rest_can_still_form(pool: Pool) -> None:
    group = group_of(
        propose(need(size=(2, 3)), pool_of([municipal(1), person(3, themes=[E]), person(5, themes=[E])]).view())
    )
    group.confirm("eva", NOW, LATER)
    small = pool_of([municipal(1), person(3, themes=[E]), person(5, themes=[E])])
    leaving = next(s for s in group.members if s.resource_id.int == 5)
    assert replace(group, need(size=(2, 3)), small.view(), leaving, SeatStatus.DECLINED, NOW, LATER).replacement is None
    assert group.vacancies == 1
    for seat in group.members:
        group.accept(seat.id, NOW)
    assert group.ready_to_form()  # two accepted, the minimum is two
    small.upsert(person(7, themes=[E]))
    assert fill_vacancies(group, need(size=(2, 3)), small.view(), NOW, LATER)[0].resource_id.int == 7


def test_nobody_who_declined_is_asked_again(pool: Pool) -> None:
    group = group_of(propose(need(size=(3, 3)), pool.view()))
    group.confirm("eva", NOW, LATER)
    mentor = next(s for s in group.members if s.resource_id.int == 3)
    replace(group, need(size=(3, 3)), pool.view(), mentor, SeatStatus.DECLINED, NOW, LATER)
    remaining = [c for s in group.members if (c := pool.get(s.resource_id))]
    assert 3 not in {c.id.int for c in replacements(need(), pool.view(), remaining, group.ever_seated, 10)}


def test_a_coordinator_swaps_for_the_best_replacement_or_a_chosen_person_within_the_rules(pool: Pool) -> None:
    the_need = need(size=(3, 3))
    group = group_of(propose(the_need, pool.view()))
    swapped = swap(group, the_need, pool.view(), uuid.UUID(int=3), None, NOW)
    assert swapped.resource_id.int == 4 and swapped.status is SeatStatus.PROPOSED
    with pytest.raises(RuleRefused, match="already in the group"):
        swap(group, the_need, pool.view(), uuid.UUID(int=4), uuid.UUID(int=3), NOW)  # 3 was in the group already
    with pytest.raises(RuleRefused, match="municipality representative"):
        swap(group, the_need, pool.view(), uuid.UUID(int=1), uuid.UUID(int=6), NOW)
    chosen = swap(group, the_need, pool.view(), uuid.UUID(int=4), uuid.UUID(int=6), NOW)
    assert chosen.resource_id.int == 6 and group.uncovered == (M,)


def test_a_coordinator_may_remove_a_member_only_when_the_group_keeps_every_rule(pool: Pool) -> None:
    the_need = need(size=(2, 4))
    group = group_of(propose(the_need, pool.view()))
    assert len(group.members) == 3
    with pytest.raises(RuleRefused, match="no municipality representative"):
        remove(group, the_need, pool.view(), uuid.UUID(int=1), NOW)
    other = next(s.resource_id for s in group.members if s.role is Role.RESOURCE)
    remove(group, the_need, pool.view(), other, NOW)
    assert len(group.members) == 2 and group.target_size == 2
    with pytest.raises(RuleRefused, match="at least 2"):
        remove(group, the_need, pool.view(), group.members[1].resource_id, NOW)
    group.confirm("eva", NOW, LATER)
    with pytest.raises(InvalidTransition) as refused:
        remove(group, the_need, pool.view(), group.members[1].resource_id, NOW)
    assert refused.value.current_status == "confirmed"


def test_the_originator_is_never_a_member_even_from_another_department() -> None:
    same = person(8, organisation="Acme Bygg", number="556036-0793", competences=[R, M], themes=[E])
    proposal = propose(
        need(size=(2, 3), originator=ORIGINATOR), pool_of([municipal(1), same, person(2), person(3)]).view()
    )
    assert 8 not in members(proposal)


def test_a_second_municipality_person_is_taken_only_when_they_bring_more_than_someone_else() -> None:
    equal = pool_of([municipal(1, themes=[E]), municipal(2, themes=[E]), person(3, themes=[E]), person(4, themes=[E])])
    assert members(propose(need(competences=[], size=(3, 3)), equal.view())) in ({1, 3, 4}, {2, 3, 4})
    mentor = pool_of([municipal(1, themes=[E]), municipal(2, competences=[M], themes=[E]), person(3, themes=[E])])
    assert members(propose(need(competences=[M], size=(3, 3)), mentor.view())) == {1, 2, 3}


def test_a_run_of_pool_changes_leaves_per_person_the_last_profile_and_a_withdrawal_keeps_it_inactive() -> None:
    def profile(n: int, capacity: int) -> Resource:
        return Resource(uuid.UUID(int=n), Contact(f"P{n}", f"p{n}@example.se", None), "sv", ORIGINATOR, "Role",
                        frozenset(), frozenset(), frozenset({"sv"}), capacity, active=True)  # fmt: skip

    a, b, c, d = (uuid.UUID(int=n) for n in (1, 2, 3, 4))
    changes = net_changes([
        (a, profile(1, 1)), (a, profile(1, 3)),  # the last profile wins
        (b, profile(2, 1)), (b, None),  # withdrawn after it: that profile, inactive
        (c, None), (c, profile(3, 2)),  # a profile after a withdrawal replaces it whole
        (d, None),  # only a withdrawal: the stored profile goes inactive
    ])  # fmt: skip
    assert changes.profiles == {a: profile(1, 3), b: dataclasses.replace(profile(2, 1), active=False), c: profile(3, 2)}
    assert changes.withdrawn == frozenset({d})
