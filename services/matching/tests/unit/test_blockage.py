"""Why no group can be proposed: what is lacking (a municipality representative, people, competences),
counted against the people free, and worded naturally in English and Swedish."""

from __future__ import annotations

import pytest

from services.matching.domain.blockage import Blockage, Lack
from services.matching.domain.solver import Infeasible, propose
from services.matching.tests.factories import municipal, need, person, pool_of
from shared.taxonomy import Competence, OrganisationType

R, M = Competence.RECRUITMENT, Competence.MENTORING
REP, PEOPLE, COMPETENCES = Lack.MUNICIPALITY_REPRESENTATIVE, Lack.PEOPLE, Lack.COMPETENCES


def refused(*people: object, **need_changes: object) -> Blockage:
    with pytest.raises(Infeasible) as caught:
        propose(need(**need_changes), pool_of(people).view())  # type: ignore[arg-type]
    return caught.value.blockage


def test_with_nobody_free_everything_is_lacking() -> None:
    blockage = refused(municipal(1, capacity=1, load=1))  # at capacity: not free
    assert blockage.missing == (REP, PEOPLE, COMPETENCES)
    assert (blockage.people_needed, blockage.people_free, blockage.missing_competences) == (3, 0, (R, M))


def test_people_are_not_lacking_when_only_the_representative_is() -> None:
    blockage = refused(person(1, competences=[R]), person(2), person(3), person(4))
    assert blockage.missing == (REP, COMPETENCES)
    assert blockage.people_free == 4 and blockage.missing_competences == (M,)


def test_too_few_organisations_lack_people_even_when_enough_persons_are_free() -> None:
    same = [person(n, organisation="Samma AB", competences=[R, M]) for n in (2, 3, 4)]
    blockage = refused(municipal(1), *same)
    assert blockage.missing == (PEOPLE,) and blockage.people_free == 4 and blockage.missing_competences == ()
    alone = refused(*same)
    assert alone.missing == (REP, PEOPLE)  # one organisation and no representative


def test_the_reason_counts_people_in_the_singular_and_plural_in_both_languages() -> None:
    one = refused(municipal(1), size=(3, 5))
    assert one.text.startswith(
        "no group of 3 to 5 people from different organisations can be formed from the 1 person free for this "
        "initiative"
    )
    assert one.text_in("sv").startswith(
        "ingen grupp på 3 till 5 personer från olika organisationer kan bildas av den 1 person som är ledig för "
        "initiativet"
    )
    two = refused(municipal(1), person(2), size=(3, 3))
    assert "no group of 3 people from different organisations can be formed from the 2 people free" in two.text
    assert "ingen grupp på 3 personer" in two.text_in("sv")
    assert "av de 2 personer som är lediga för initiativet" in two.text_in("sv")
    nobody = refused()
    assert ": nobody is free for this initiative" in nobody.text
    assert ": ingen är ledig för initiativet" in nobody.text_in("sv")
    assert "people free" not in nobody.text and "1 people" not in one.text


def test_the_reason_names_the_representative_and_the_competences_in_plain_words() -> None:
    blockage = refused(person(2, competences=[R]), person(3), person(4), competences=[M])
    assert blockage.text == (
        "no municipality representative or public authority is free (speaking Swedish, below capacity, "
        "outside the originator's organisation); nobody free brings the needed competence: Mentoring"
    )
    assert blockage.text_in("sv") == (
        "ingen kommunrepresentant eller myndighet är ledig (som talar svenska, har plats kvar och inte hör till "
        "initiativtagarens organisation); ingen som är ledig har den kompetens som behövs: Mentorskap"
    )
    both = refused(municipal(1), language="en", competences=[R, M])
    assert "nobody free brings the needed competences: Recruitment, Mentoring" in both.text
    assert "ingen som är ledig har de kompetenser som behövs: Rekrytering, Mentorskap" in both.text_in("sv")
    assert "speaking English" in refused(language="en").text


def test_the_same_reason_is_what_is_lacking_not_how_many_are_free() -> None:
    first = refused(person(2))
    assert first.same_reason(refused(person(2), person(3)))  # one more free: still too few, still no representative
    assert not first.same_reason(refused(municipal(1), person(2)))  # the representative is there now
    assert not first.same_reason(refused(person(2, competences=[R])))  # recruitment is there now
    assert not first.same_reason(refused(person(2), size=(4, 5)))  # the initiative asks more
    assert not first.same_reason(None)


def test_a_public_authority_is_enough_as_the_representative() -> None:
    authority = person(1, kind=OrganisationType.PUBLIC_AUTHORITY)
    assert REP not in refused(authority).missing
