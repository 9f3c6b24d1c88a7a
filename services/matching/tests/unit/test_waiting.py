"""An initiative no group can be proposed for yet: coordinators are told once what is lacking
(GroupFormationBlocked), and it is tried again the moment someone becomes available — registered,
resumed, given more room, or let go by another group — without waiting for the sweep."""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from services.matching.handlers import AnswerInvitation, ConfirmGroup, FindGroups, GetInitiative, SweepGroups
from services.matching.tests.factories import accepted, registered, team
from services.matching.tests.unit.conftest import WEB_URL, Matching
from shared.contracts.initiatives import InitiativeAccepted, InitiativeWithdrawn
from shared.contracts.resources import ResourceRegistered, ResourceUpdated, ResourceWithdrawn
from shared.taxonomy import Competence, OrganisationType

KOMMUN = OrganisationType.MUNICIPALITY


def withdrawn(initiative: InitiativeAccepted) -> InitiativeWithdrawn:
    return InitiativeWithdrawn(
        **initiative.model_dump(exclude={"decided_by", "status"}), status="withdrawn", withdrawn_by="originator"
    )


def updated(person: ResourceRegistered, *, active: bool = True, **profile: Any) -> ResourceUpdated:
    return ResourceUpdated(
        resource_id=person.resource_id,
        profile=person.profile.model_copy(update=profile),
        profile_url=person.profile_url,
        active=active,
    )


def reasons(matching: Matching) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    return [(b.missing, b.missing_competences) for b in matching.blockages()]


async def test_nobody_free_is_told_once_and_the_registrations_bring_the_proposal_without_the_sweep(
    matching: Matching,
) -> None:
    initiative = accepted()
    await matching.consume(initiative)
    (blocked,) = matching.blockages()
    assert blocked.initiative_id == initiative.initiative_id and blocked.initiative_reference == "MM-2026-0042"
    assert blocked.missing == ("municipality_representative", "people", "competences")
    assert (blocked.people_needed, blocked.people_free) == (3, 0)
    assert blocked.missing_competences == ("recruitment", "mentoring")
    assert blocked.review_url == f"{WEB_URL}/staff/initiatives/{initiative.initiative_id}"

    await matching.bus.handle(SweepGroups())  # the same reason on every try: nothing new to tell
    await matching.consume(accepted(initiative.initiative_id))  # the same acceptance again
    assert len(matching.blockages()) == 1

    await matching.consume(*team())  # a municipality person, then recruiters and mentors
    (proposal,) = matching.proposals()
    assert proposal.initiative_id == initiative.initiative_id
    assert matching.store.initiatives[initiative.initiative_id].formation_problem is None
    told = reasons(matching)
    assert all(a != b for a, b in itertools.pairwise(told))  # told again only when the reason changed
    assert told[1] == (("people", "competences"), ("recruitment", "mentoring"))  # the representative came


async def test_a_reason_is_told_again_after_a_group_was_proposed_in_between(matching: Matching) -> None:
    initiative = accepted()
    await matching.consume(initiative, registered("Bo Bolag", "Bolaget AB"))
    assert len(matching.blockages()) == 1  # one more person free, still the same reason
    found, _ = await matching.bus.handle(GetInitiative(initiative.initiative_id))
    assert found.blockage.people_free == 1  # what coordinators read is current

    people = team()
    await matching.consume(*people)
    assert len(matching.proposals()) == 1
    await matching.consume(withdrawn(initiative), *(ResourceWithdrawn(resource_id=p.resource_id) for p in people))
    await matching.consume(initiative)  # accepted again (say, after a mistake), with the pool as empty as before
    assert [b.missing for b in matching.blockages()][-1] == ("municipality_representative", "people", "competences")
    assert reasons(matching)[0] == reasons(matching)[-1]


@pytest.mark.parametrize("change", ["resumed", "more capacity", "new competence"])
async def test_an_update_that_frees_someone_retries_at_once_and_other_updates_do_not(
    matching: Matching, change: str
) -> None:
    initiative = accepted()
    await matching.consume(initiative)
    people = team()
    await matching.seed(*people)  # there, but no event said so: the initiative still waits
    rita = next(p for p in people if p.profile.name == "Rita Rekryt")

    await matching.consume(updated(rita, phone="+46700000000"))  # nothing that lets anyone in
    assert matching.proposals() == []
    if change == "resumed":
        await matching.consume(updated(rita, active=False))
        assert matching.proposals() == []
    freed = {
        "resumed": updated(rita),
        "more capacity": updated(rita, capacity=3),
        "new competence": updated(rita, competences=(Competence.RECRUITMENT, Competence.MENTORING)),
    }[change]
    await matching.consume(freed)
    (proposal,) = matching.proposals()
    assert proposal.initiative_id == initiative.initiative_id


async def decline(matching: Matching, first: InitiativeAccepted) -> None:
    (invitation,) = [i for i in matching.invitations() if i.member.role == "municipality_representative"]
    await matching.bus.handle(AnswerInvitation(matching.token(invitation.decline_url)))


async def dissolve(matching: Matching, first: InitiativeAccepted) -> None:
    await matching.consume(withdrawn(first))


async def expire(matching: Matching, first: InitiativeAccepted) -> None:
    matching.advance(days=7, minutes=1)
    counts = await matching.bus.handle(SweepGroups())
    assert counts == {"expired": 3, "filled": 0, "proposed": 1}  # the same round: vacancies first, then the waiting


@pytest.mark.parametrize("let_go", [decline, dissolve, expire], ids=["declined", "dissolved", "expired"])
async def test_a_seat_let_go_goes_at_once_to_an_initiative_waiting_for_that_person(
    matching: Matching, let_go: Callable[[Matching, InitiativeAccepted], Awaitable[None]]
) -> None:
    kim = registered("Kim Kommun", "Malmö stad", kind=KOMMUN, capacity=1)  # the only municipality person
    skills = [Competence.RECRUITMENT, Competence.MENTORING]
    others = [registered(f"Person {i}", f"Firma {i}", competences=skills) for i in range(4)]
    first, second = accepted(group_size_min=3, group_size_max=3), accepted(group_size_min=3, group_size_max=3)
    await matching.consume(kim, *others, first, second)
    (proposal,) = matching.proposals()
    assert proposal.initiative_id == first.initiative_id
    (blocked,) = matching.blockages()
    assert blocked.initiative_id == second.initiative_id and blocked.missing == ("municipality_representative",)
    await matching.bus.handle(ConfirmGroup(proposal.group_id, "eva.coordinator@malmo.se"))

    await let_go(matching, first)
    later = [p for p in matching.proposals() if p.initiative_id == second.initiative_id]
    assert len(later) == 1 and later[0].members[0].resource_id == kim.resource_id


async def test_the_groups_of_a_waiting_initiative_say_why_there_are_none(matching: Matching) -> None:
    initiative = accepted()
    await matching.consume(initiative)
    found = await matching.bus.handle(FindGroups(initiative.initiative_id, None, 50, 0))
    assert found.groups == [] and found.total == 0
    assert found.waiting is not None and found.waiting.blockage.people_needed == 3
    await matching.consume(*team())
    found = await matching.bus.handle(FindGroups(initiative.initiative_id, None, 50, 0))
    assert len(found.groups) == 1 and found.waiting is None
    assert (await matching.bus.handle(FindGroups(None, None, 50, 0))).waiting is None


async def test_acceptances_that_arrive_together_are_proposed_as_one_batch_and_nobody_is_booked_twice(
    matching: Matching,
) -> None:
    await matching.consume(*team())
    together = [accepted(), accepted(), accepted(), accepted()]
    # The formation job's round runs once, after all four were recorded (as when they arrive at once).
    await matching.consume(*together, together=True)

    decided = {p.initiative_id for p in matching.proposals()} | {b.initiative_id for b in matching.blockages()}
    assert decided == {a.initiative_id for a in together}
    assert matching.proposals()  # the pool serves some of them
    seats: dict[Any, int] = {}
    for proposal in matching.proposals():
        for member in proposal.members:
            seats[member.email] = seats.get(member.email, 0) + 1
    capacity = {r.contact.email: r.capacity for r in matching.store.resources.values()}
    assert all(count <= capacity[email] for email, count in seats.items())  # capacity shared, never exceeded
    assert all(r.load <= r.capacity for r in matching.store.resources.values())
