"""Forming a group: a short list from the pool index, solved exactly with CP-SAT, greedy as fallback.

The objective is lexicographic: needed competences covered, then themes shared, then light load
(each seat also costs a little, so people who bring nothing are added only to reach the minimum,
and a second municipality or authority person only when they bring more than someone else would),
then the lower resource id. CP-SAT runs on one worker with a deterministic time budget, so the same
inputs give the same group; the greedy answer is its hint and is kept when CP-SAT finds nothing better.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ortools.sat.python import cp_model

from services.matching.domain.blockage import Blockage, Lack
from services.matching.domain.pool import COMPETENCE_BIT, TYPE_CODE, PoolView, Positions, ShortlistLimits
from services.matching.domain.profiles import (
    REPRESENTATIVE_TYPES,
    Candidate,
    Need,
    same_organisation,
    uncovered_competences,
)
from services.matching.domain.rules import Explanation, explanations, organisation_cliques
from shared.errors import DomainError
from shared.taxonomy import Competence, OrganisationType

COVERAGE_WEIGHT = 25_000  # above every theme and load term together: coverage comes first
THEME_WEIGHT = 200  # above every seat cost together (12 seats x 17): themes come before load
MAX_COUNTED_LOAD = 15


class _Model(cp_model.CpModel):
    """CP-SAT's model without the deprecated camelCase aliases it binds to every new model (a pass over
    dir() and a wrapper per method: 0.4 ms a model, a tenth of a proposal's solving; ortools pinned to 9.15)."""

    def _add_pre_pep8_methods(self) -> None:
        pass


class Infeasible(DomainError):
    """No group satisfies every hard rule with the people the pool has free; `blockage` says what is lacking."""

    def __init__(self, blockage: Blockage) -> None:
        super().__init__(blockage.text)
        self.blockage = blockage


@dataclass(frozen=True)
class SolverSettings:
    time_limit_seconds: float = 0.5  # wall-clock safety net
    deterministic_limit: float = 0.2  # CP-SAT's own work units: the limit that keeps results reproducible
    limits: ShortlistLimits = field(default_factory=ShortlistLimits)
    use_cp_sat: bool = True


@dataclass(frozen=True)
class Proposal:
    need: Need
    members: tuple[Candidate, ...]  # the representative first, then by id
    representative: OrganisationType
    uncovered: tuple[Competence, ...]
    solver: str  # cp-sat | greedy
    explanations: dict[uuid.UUID, Explanation]

    @property
    def representative_id(self) -> uuid.UUID:
        return self.members[0].id

    @property
    def score(self) -> int:
        return score(self.need, self.members)


def theme_overlap(need: Need, candidate: Candidate) -> int:
    return len(need.themes & candidate.themes)


def seat_cost(candidate: Candidate) -> int:
    """Load, plus one for every seat; representatives cost one more: they are few, so a group takes a
    second one only when they bring more than the next person would, and other groups keep theirs."""
    scarce = candidate.organisation.type in REPRESENTATIVE_TYPES
    return min(candidate.load, MAX_COUNTED_LOAD) + 1 + int(scarce)


def seat_value(need: Need, candidate: Candidate) -> int:
    return THEME_WEIGHT * theme_overlap(need, candidate) - seat_cost(candidate)


def score(need: Need, members: Sequence[Candidate]) -> int:
    covered = len(need.competences) - len(uncovered_competences(need, members))
    return COVERAGE_WEIGHT * covered + sum(seat_value(need, m) for m in members)


def greedy_group(need: Need, candidates: Sequence[Candidate], representative: OrganisationType) -> list[int] | None:
    """Representative first, then whoever covers most of what is missing, then theme sharers, then anyone."""
    wanted = set(need.competences)
    chosen: list[int] = []
    covered: set[Competence] = set()

    def gain(i: int) -> tuple[int, int, int, int]:
        c = candidates[i]
        return (len((c.competences & wanted) - covered), theme_overlap(need, c), -seat_cost(c), -i)

    def pick(accept: Iterable[int]) -> int | None:
        fitting = [
            i
            for i in accept
            if i not in chosen
            and not any(same_organisation(candidates[i].organisation, candidates[j].organisation) for j in chosen)
        ]
        return max(fitting, key=gain, default=None)

    def add(i: int) -> None:
        chosen.append(i)
        covered.update(candidates[i].competences & wanted)

    everyone = range(len(candidates))
    first = pick(i for i in everyone if candidates[i].organisation.type is representative)
    if first is None:
        return None
    add(first)
    while len(chosen) < need.size_max and wanted - covered:
        best = pick(i for i in everyone if candidates[i].competences & (wanted - covered))
        if best is None:
            break
        add(best)
    while len(chosen) < need.size_max:
        best = pick(i for i in everyone if seat_value(need, candidates[i]) > 0)
        if best is None:
            break
        add(best)
    while len(chosen) < need.size_min:
        best = pick(everyone)
        if best is None:
            return None
        add(best)
    return chosen


def cp_sat_group(
    need: Need,
    candidates: Sequence[Candidate],
    representative: OrganisationType,
    settings: SolverSettings,
    hint: Sequence[int] = (),
) -> list[int] | None:
    """The optimal group over the candidates (by index, candidates sorted by id), or None."""
    n = len(candidates)
    representatives = [i for i, c in enumerate(candidates) if c.organisation.type is representative]
    if n < need.size_min or not representatives:
        return None
    model = _Model()
    x = [model.new_bool_var(f"x{i}") for i in range(n)]
    model.add(cp_model.LinearExpr.sum(x) >= need.size_min)
    model.add(cp_model.LinearExpr.sum(x) <= need.size_max)
    for clique in organisation_cliques(candidates):
        model.add_at_most_one(x[i] for i in clique)
    model.add_bool_or([x[i] for i in representatives])
    tie_break = need.size_max * n + 1  # the id rank term stays below one unit of the real objective
    variables: list[cp_model.IntVar] = []
    weights: list[int] = []
    for competence in need.competences:
        holders = [x[i] for i, c in enumerate(candidates) if competence in c.competences]
        if holders:
            covered = model.new_bool_var(f"covers_{competence.value}")
            model.add_bool_or(holders).only_enforce_if(covered)
            variables.append(covered)
            weights.append(COVERAGE_WEIGHT * tie_break)
    for i, candidate in enumerate(candidates):
        variables.append(x[i])
        weights.append(seat_value(need, candidate) * tie_break - i)
    model.maximize(cp_model.LinearExpr.weighted_sum(variables, weights))
    chosen_hint = set(hint)
    for i in range(n):
        model.add_hint(x[i], i in chosen_hint)
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    # CP-SAT would take SIGINT over during a solve and leave it at the default action afterwards:
    # Ctrl-C would then kill the service instead of running its shutdown.
    solver.parameters.catch_sigint_signal = False
    solver.parameters.random_seed = 0
    solver.parameters.max_time_in_seconds = settings.time_limit_seconds
    solver.parameters.max_deterministic_time = settings.deterministic_limit
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    return [i for i in range(n) if solver.boolean_value(x[i])]


def solve(
    need: Need, candidates: Sequence[Candidate], representative: OrganisationType, settings: SolverSettings
) -> tuple[list[Candidate], str] | None:
    """The better of CP-SAT and greedy (CP-SAT on a tie); None when neither finds a group."""
    greedy = greedy_group(need, candidates, representative)
    exact = cp_sat_group(need, candidates, representative, settings, greedy or ()) if settings.use_cp_sat else None
    options = [(members, name) for members, name in ((exact, "cp-sat"), (greedy, "greedy")) if members is not None]
    if not options:
        return None
    members, name = max(options, key=lambda o: score(need, [candidates[i] for i in o[0]]))
    return [candidates[i] for i in members], name


def _arrange(need: Need, members: list[Candidate], kind: OrganisationType, solver: str) -> Proposal:
    """Name the representative (the best-placed member of the required kind) and explain everyone."""
    wanted = set(need.competences)

    def standing(m: Candidate) -> tuple[int, int, int, uuid.UUID]:
        return (-len(m.competences & wanted), -theme_overlap(need, m), m.load, m.id)

    representative = min((m for m in members if m.organisation.type is kind), key=standing)
    ordered = (representative, *sorted((m for m in members if m is not representative), key=lambda m: m.id))
    return Proposal(
        need=need,
        members=ordered,
        representative=kind,
        uncovered=uncovered_competences(need, ordered),
        solver=solver,
        explanations=explanations(need, ordered, (representative.id, kind)),
    )


def representative_kind(view: PoolView, eligible: Positions) -> OrganisationType | None:
    """The kind the group's representative must be, given the people free (`eligible`)."""
    types = view.pool.types[eligible]
    for kind in (OrganisationType.MUNICIPALITY, OrganisationType.PUBLIC_AUTHORITY):
        if (types == TYPE_CODE[kind]).any():
            return kind
    return None


def blockage(need: Need, view: PoolView, eligible: Positions, *, representative: bool) -> Blockage:
    """What is lacking for the need, given the people free (`eligible`) and whether one of them could
    represent the municipality: people are lacking when fewer organisations are free than the group's
    minimum, or (with a representative free) when no combination keeps the rules."""
    held = view.pool.competences[eligible]
    missing_competences = tuple(c for c in need.competences if not (held & COMPETENCE_BIT[c]).any())
    organisations = view.organisations(eligible)
    lacking = [
        *([] if representative else [Lack.MUNICIPALITY_REPRESENTATIVE]),
        *([Lack.PEOPLE] if representative or organisations < need.size_min else []),
        *([Lack.COMPETENCES] if missing_competences else []),
    ]
    return Blockage(
        missing=tuple(lacking),
        people_needed=need.size_min,
        size_max=need.size_max,
        people_free=len(eligible),
        language=need.language,
        missing_competences=missing_competences,
    )


def propose(
    need: Need, view: PoolView, *, exclude: Iterable[uuid.UUID] = (), settings: SolverSettings | None = None
) -> Proposal:
    """The best group the pool allows for the need, or Infeasible with what is lacking."""
    settings = settings or SolverSettings()
    exclude = frozenset(exclude)
    eligible = view.eligible(need, exclude)
    kind = representative_kind(view, eligible)
    if kind is None:
        raise Infeasible(blockage(need, view, eligible, representative=False))
    limits = settings.limits
    for _ in range(3):
        candidates = view.shortlist(need, kind, limits, eligible)
        found = solve(need, candidates, kind, settings)
        if found is not None:
            members, solver = found
            return _arrange(need, members, kind, solver)
        if len(candidates) >= len(eligible):
            break
        limits = limits.doubled()
    raise Infeasible(blockage(need, view, eligible, representative=True))
