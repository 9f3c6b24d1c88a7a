"""Changing a group under the rules: the best replacement for a seat, a coordinator's swap or removal,
a departure (declined, expired, withdrawn, erased), and forming many groups at once. No I/O."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from services.matching.domain.group import Group, Seat, SeatStatus
from services.matching.domain.pool import COMPETENCE_BIT, TYPE_CODE, Pool, PoolView, competence_mask, theme_mask
from services.matching.domain.profiles import Candidate, Need
from services.matching.domain.rules import explain, has_representative
from services.matching.domain.solver import Infeasible, Proposal, SolverSettings, propose
from shared.errors import InvalidTransition
from shared.taxonomy import Competence, OrganisationType


class RuleRefused(InvalidTransition):
    """A coordinator's change would break a hard rule; nothing changed."""

    def __init__(self, current_status: str, action: str, why: str) -> None:
        super().__init__("group", current_status, action)
        self.args = (f"cannot {action}: {why}",)


def member_candidates(group: Group, view: PoolView, leaving: Iterable[uuid.UUID] = ()) -> list[Candidate]:
    """The remaining members as the pool knows them (a person erased a moment ago is not known any more)."""
    gone = set(leaving)
    found = (view.get(s.resource_id) for s in group.members if s.resource_id not in gone)
    return [c for c in found if c is not None]


def uncovered(need: Need, group: Group) -> tuple[Competence, ...]:
    held = {c for s in group.members for c in s.explanation.competences_covered}
    return tuple(c for c in need.competences if c not in held)


def _required_kind(view: PoolView, free: np.ndarray, remaining: Sequence[Candidate]) -> OrganisationType | bool | None:
    """The kind a newcomer must be (None: anyone will do; False: the rule cannot be met)."""
    if has_representative(remaining, OrganisationType.MUNICIPALITY):
        return None
    if len(view.of_type(free, OrganisationType.MUNICIPALITY)):
        return OrganisationType.MUNICIPALITY
    if has_representative(remaining, OrganisationType.PUBLIC_AUTHORITY):
        return None
    if len(view.of_type(free, OrganisationType.PUBLIC_AUTHORITY)):
        return OrganisationType.PUBLIC_AUTHORITY
    return False


def _free_for(need: Need, view: PoolView, remaining: Sequence[Candidate], exclude: Iterable[uuid.UUID]) -> np.ndarray:
    free = view.eligible(need, {*exclude, *(m.id for m in remaining)})
    for member in remaining:
        free = free[~view.same_organisation_as(free, member.organisation)]
    return free


def replacements(
    need: Need, view: PoolView, remaining: Sequence[Candidate], exclude: Iterable[uuid.UUID], n: int = 1
) -> list[Candidate]:
    """The n best people to join `remaining`, best first: what is still uncovered, then themes, then load."""
    free = _free_for(need, view, remaining, exclude)
    kind = _required_kind(view, free, remaining)
    if kind is False:
        return []
    if isinstance(kind, OrganisationType):
        free = view.of_type(free, kind)
    held = {c for m in remaining for c in m.competences}
    missing = competence_mask(c for c in need.competences if c not in held)
    keys = view.ranking_keys(free, missing, theme_mask(need.themes))
    return view.candidates(view.best(free, keys, n, distinct=False))


def refusal(
    need: Need, view: PoolView, remaining: Sequence[Candidate], exclude: set[uuid.UUID], person: uuid.UUID
) -> str | None:
    """Why `person` may not join `remaining` (None when they may)."""
    position = view.pool.position(person)
    if position is None:
        return "this person is not in the pool"
    if person in exclude or person in {m.id for m in remaining}:
        return "this person is or was already in the group"
    free = _free_for(need, view, remaining, exclude)
    if position not in set(free.tolist()):
        return "this person is not free for this initiative (capacity, language, organisation or status)"
    kind = _required_kind(view, free, remaining)
    if isinstance(kind, OrganisationType) and view.pool.types[position] != TYPE_CODE[kind]:
        return f"the group needs a {kind.value.replace('_', ' ')} representative in this seat"
    return None


def designate_representative(group: Group, view: PoolView) -> None:
    """Keep a representative: when the one named left, name the best-placed municipality (else public
    authority) member."""
    if group.representative is not None:
        return
    for kind in (OrganisationType.MUNICIPALITY, OrganisationType.PUBLIC_AUTHORITY):
        seats = [s for s in group.members if (c := view.get(s.resource_id)) is not None and c.organisation.type is kind]
        if seats:
            best = min(
                seats,
                key=lambda s: (
                    -len(s.explanation.competences_covered),
                    -len(s.explanation.themes_shared),
                    s.resource_id,
                ),
            )
            group.designate(best, kind)
            return


@dataclass(frozen=True)
class Departure:
    left: Seat
    replacement: Seat | None  # None: nobody free; the seat stays vacant for the sweep to fill


def replace(
    group: Group,
    need: Need,
    view: PoolView,
    seat: Seat,
    reason: SeatStatus,
    at: datetime,
    expires_at: datetime | None,
) -> Departure:
    """A member leaves (declined, expired, withdrawn, erased, removed): the best replacement takes the seat."""
    group.leave(seat.id, reason, at)
    remaining = member_candidates(group, view)
    best = replacements(need, view, remaining, group.ever_seated, 1)
    new_seat = None
    if best:
        new_seat = group.add(best[0].id, explain(need, best[0]), at, replaces=seat.id, expires_at=expires_at)
        view.add_load(best[0].id)
    designate_representative(group, view)
    group.uncovered = uncovered(need, group)
    return Departure(seat, new_seat)


def fill_vacancies(group: Group, need: Need, view: PoolView, at: datetime, expires_at: datetime | None) -> list[Seat]:
    """Seats left open by a departure nobody could take: try again (the sweep does, now and then)."""
    added = []
    while group.vacancies:
        best = replacements(need, view, member_candidates(group, view), group.ever_seated, 1)
        if not best:
            break
        added.append(group.add(best[0].id, explain(need, best[0]), at, expires_at=expires_at))
        view.add_load(best[0].id)
    designate_representative(group, view)
    group.uncovered = uncovered(need, group)
    return added


def swap(
    group: Group, need: Need, view: PoolView, resource_id: uuid.UUID, chosen: uuid.UUID | None, at: datetime
) -> Seat:
    """A coordinator swaps a proposed member for `chosen`, or for the best replacement."""
    group.require_proposed("swap a member of")
    seat = group.seat_of(resource_id)
    remaining = member_candidates(group, view, leaving=[resource_id])
    if chosen is None:
        best = replacements(need, view, remaining, group.ever_seated, 1)
        if not best:
            raise RuleRefused(group.status.value, "swap this member", "nobody free can take the seat under the rules")
        newcomer = best[0]
    else:
        why = refusal(need, view, remaining, group.ever_seated, chosen)
        if why is not None:
            raise RuleRefused(group.status.value, "swap in this person", why)
        newcomer = view.get(chosen)  # type: ignore[assignment]
    group.leave(seat.id, SeatStatus.REMOVED, at)
    new_seat = group.add(newcomer.id, explain(need, newcomer), at, replaces=seat.id)
    view.add_load(newcomer.id)
    designate_representative(group, view)
    group.uncovered = uncovered(need, group)
    return new_seat


def remove(group: Group, need: Need, view: PoolView, resource_id: uuid.UUID, at: datetime) -> None:
    """A coordinator takes a member out of a proposal, if the group still keeps every rule without them."""
    group.require_proposed("remove a member of")
    seat = group.seat_of(resource_id)
    remaining = member_candidates(group, view, leaving=[resource_id])
    if len(remaining) < need.size_min:
        raise RuleRefused(
            group.status.value, "remove this member", f"the group needs at least {need.size_min} people; swap instead"
        )
    free = _free_for(need, view, remaining, group.ever_seated)
    if _required_kind(view, free, remaining) is not None:
        raise RuleRefused(
            group.status.value,
            "remove this member",
            "the group would have no municipality representative; swap instead",
        )
    group.leave(seat.id, SeatStatus.REMOVED, at)
    group.target_size -= 1
    designate_representative(group, view)
    group.uncovered = uncovered(need, group)


def scarcity(need: Need, view: PoolView) -> int:
    """How many free people hold the rarest needed competence (the scarcest initiatives choose first)."""
    eligible = view.eligible(need)
    if not need.competences:
        return len(eligible)
    held = view.pool.competences[eligible]
    return min(int(np.count_nonzero(held & COMPETENCE_BIT[c])) for c in need.competences)


def propose_many(
    needs: Sequence[Need], pool: Pool, *, settings: SolverSettings | None = None
) -> list[tuple[Need, Proposal | Infeasible]]:
    """Groups for several initiatives at once, sharing the pool's capacity: nobody is booked beyond it.

    The scarcest initiative chooses first (then by initiative id), and every choice raises the load
    the next one sees, which also spreads the work over more people."""
    view = pool.view()
    order = sorted(needs, key=lambda n: (scarcity(n, view), n.initiative_id))
    results: list[tuple[Need, Proposal | Infeasible]] = []
    for need in order:
        try:
            proposal = propose(need, view, settings=settings)
        except Infeasible as refused:
            results.append((need, refused))
            continue
        for member in proposal.members:
            view.add_load(member.id)
        results.append((need, proposal))
    return results


def group_from_proposal(proposal: Proposal, group_id: uuid.UUID, at: datetime) -> Group:
    group = Group(
        id=group_id,
        initiative_id=proposal.need.initiative_id,
        size_min=proposal.need.size_min,
        target_size=len(proposal.members),
        representative_kind=proposal.representative,
        uncovered=proposal.uncovered,
        solver=proposal.solver,
        created_at=at,
    )
    for member in proposal.members:
        group.add(member.id, proposal.explanations[member.id], at)
    group.designate(group.seats[0], proposal.representative)
    return group
