"""The pool as an in-memory index: one column per attribute, so a 100k pool is filtered in milliseconds.

Competences and themes are bit masks; a need is answered with vector operations (numpy), and only a
short list of the best candidates per needed competence (plus the best representatives and the best
others) goes on to the exact solver. Ties are broken on the resource id, so the same pool and need
give the same short list in any insertion order.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from services.matching.domain.profiles import Candidate, Need, Organisation
from shared.taxonomy import Competence, OrganisationType, Theme

COMPETENCE_BIT = {c: np.uint64(1 << i) for i, c in enumerate(Competence)}
THEME_BIT = {t: np.uint64(1 << i) for i, t in enumerate(Theme)}
TYPE_CODE = {t: i for i, t in enumerate(OrganisationType)}
_U64 = np.uint64
Positions = npt.NDArray[np.intp]


def competence_mask(competences: Iterable[Competence]) -> np.uint64:
    mask = _U64(0)
    for c in competences:
        mask |= COMPETENCE_BIT[c]
    return mask


def theme_mask(themes: Iterable[Theme]) -> np.uint64:
    mask = _U64(0)
    for t in themes:
        mask |= THEME_BIT[t]
    return mask


@dataclass(frozen=True)
class ShortlistLimits:
    per_competence: int = 12
    representatives: int = 12
    others: int = 40

    def doubled(self) -> ShortlistLimits:
        return ShortlistLimits(self.per_competence * 2, self.representatives * 2, self.others * 2)


_COLUMNS: dict[str, tuple[type[np.generic], int]] = {
    "competences": (np.uint64, 0),
    "themes": (np.uint64, 0),
    "types": (np.int8, -1),
    "number_ids": (np.int32, -1),
    "name_ids": (np.int32, -1),
    "capacity": (np.int16, 0),
    "load": (np.int16, 0),
    "active": (np.bool_, 0),
    "id_hi": (np.uint64, 0),
    "id_lo": (np.uint64, 0),
}


class Pool:
    """Every person matching may place. Mutated only through upsert, remove and set_load."""

    competences: npt.NDArray[np.uint64]
    themes: npt.NDArray[np.uint64]
    types: npt.NDArray[np.int8]
    number_ids: npt.NDArray[np.int32]
    name_ids: npt.NDArray[np.int32]
    capacity: npt.NDArray[np.int16]
    load: npt.NDArray[np.int16]
    active: npt.NDArray[np.bool_]
    id_hi: npt.NDArray[np.uint64]
    id_lo: npt.NDArray[np.uint64]

    def __init__(self, capacity: int = 1024) -> None:
        self._size = 0
        self._position: dict[uuid.UUID, int] = {}
        self._profiles: list[Candidate | None] = []
        self._number_ids: dict[str, int] = {}
        self._name_ids: dict[str, int] = {}
        self._speaks: dict[str, npt.NDArray[np.bool_]] = {}
        self._allocate(capacity)

    def _allocate(self, capacity: int) -> None:
        for name, (dtype, fill) in _COLUMNS.items():
            old = getattr(self, name, None)
            column = np.full(capacity, fill, dtype=dtype)
            if old is not None:
                column[: len(old)] = old
            setattr(self, name, column)
        for language, speaks in self._speaks.items():
            grown = np.zeros(capacity, dtype=np.bool_)
            grown[: len(speaks)] = speaks
            self._speaks[language] = grown

    def copy(self) -> Pool:
        """A copy to change without touching this pool (e.g. to see one transaction's own changes)."""
        twin = Pool.__new__(Pool)
        twin._size = self._size
        twin._position = dict(self._position)
        twin._profiles = list(self._profiles)
        twin._number_ids = dict(self._number_ids)
        twin._name_ids = dict(self._name_ids)
        twin._speaks = {language: speaks.copy() for language, speaks in self._speaks.items()}
        for name in _COLUMNS:
            setattr(twin, name, getattr(self, name).copy())
        return twin

    def __len__(self) -> int:
        return len(self._position)

    def __contains__(self, resource_id: object) -> bool:
        return resource_id in self._position

    @property
    def size(self) -> int:
        """Slots in use (removed people leave an inactive slot behind)."""
        return self._size

    def ids(self) -> set[uuid.UUID]:
        return set(self._position)

    def speaks(self, language: str) -> npt.NDArray[np.bool_]:
        found = self._speaks.get(language)
        if found is None:
            found = self._speaks[language] = np.zeros(len(self.active), dtype=np.bool_)
        return found

    def _intern(self, table: dict[str, int], key: str | None) -> int:
        if key is None:
            return -1
        return table.setdefault(key, len(table))

    def number_id(self, organisation: Organisation) -> int:
        return self._number_ids.get(organisation.number_key or "", -1)

    def name_id(self, organisation: Organisation) -> int:
        return self._name_ids.get(organisation.name_key, -1)

    def upsert(self, candidate: Candidate) -> None:
        position = self._position.get(candidate.id)
        if position is None:
            if self._size == len(self.active):
                self._allocate(2 * len(self.active))
            position = self._size
            self._size += 1
            self._position[candidate.id] = position
            self._profiles.append(None)
            self.id_hi[position] = _U64(candidate.id.int >> 64)
            self.id_lo[position] = _U64(candidate.id.int & 0xFFFF_FFFF_FFFF_FFFF)
        self._profiles[position] = replace(candidate, load=0)
        organisation = candidate.organisation
        self.competences[position] = competence_mask(candidate.competences)
        self.themes[position] = theme_mask(candidate.themes)
        self.types[position] = TYPE_CODE[organisation.type]
        self.number_ids[position] = self._intern(self._number_ids, organisation.number_key)
        self.name_ids[position] = self._intern(self._name_ids, organisation.name_key)
        self.capacity[position] = candidate.capacity
        self.load[position] = min(candidate.load, 32_000)
        self.active[position] = candidate.active
        for speaks in self._speaks.values():
            speaks[position] = False
        for language in candidate.languages:
            self.speaks(language)[position] = True

    def remove(self, resource_id: uuid.UUID) -> None:
        position = self._position.pop(resource_id, None)
        if position is not None:
            self._profiles[position] = None
            self.active[position] = False
            self.capacity[position] = 0

    def set_load(self, resource_id: uuid.UUID, load: int) -> None:
        position = self._position.get(resource_id)
        if position is not None:
            self.load[position] = min(load, 32_000)

    def get(self, resource_id: uuid.UUID) -> Candidate | None:
        position = self._position.get(resource_id)
        return None if position is None else self.candidate_at(position, int(self.load[position]))

    def candidate_at(self, position: int, load: int) -> Candidate:
        profile = self._profiles[position]
        assert profile is not None, "a removed slot is never active"
        return replace(profile, load=load)

    def position(self, resource_id: uuid.UUID) -> int | None:
        return self._position.get(resource_id)

    def view(self, extra_load: Mapping[uuid.UUID, int] | None = None) -> PoolView:
        return PoolView(self, extra_load or {})


class PoolView:
    """The pool as one use case sees it: its own copy of the loads, which that use case may raise."""

    def __init__(self, pool: Pool, extra_load: Mapping[uuid.UUID, int]) -> None:
        self.pool = pool
        self.load = pool.load[: pool.size].copy()
        for resource_id, extra in extra_load.items():
            self.add_load(resource_id, extra)

    def add_load(self, resource_id: uuid.UUID, extra: int = 1) -> None:
        position = self.pool.position(resource_id)
        if position is not None:
            self.load[position] += extra

    def get(self, resource_id: uuid.UUID) -> Candidate | None:
        position = self.pool.position(resource_id)
        return None if position is None else self.pool.candidate_at(position, int(self.load[position]))

    def _positions_of(self, ids: Iterable[uuid.UUID]) -> list[int]:
        return [p for p in (self.pool.position(i) for i in ids) if p is not None]

    def eligible(self, need: Need, exclude: Iterable[uuid.UUID] = ()) -> Positions:
        """Positions of people who pass every rule on one person for this need."""
        p, n = self.pool, self.pool.size
        mask = p.active[:n] & (self.load < p.capacity[:n]) & p.speaks(need.language)[:n]
        mask &= ~self.same_organisation_as(slice(0, n), need.originator)  # a slice: no copy of every column
        excluded = self._positions_of(exclude)
        if excluded:
            mask[excluded] = False
        return np.flatnonzero(mask)

    def same_organisation_as(self, positions: Positions | slice, organisation: Organisation) -> npt.NDArray[np.bool_]:
        """Same number where both have one, else the same normalised name (as profiles.same_organisation)."""
        p = self.pool
        name, number = p.name_id(organisation), p.number_id(organisation)
        names = p.name_ids[positions]
        nothing = np.zeros(len(names), dtype=np.bool_)
        same_name = names == name if name >= 0 else nothing
        if not organisation.number_key:
            return same_name
        numbers = p.number_ids[positions]
        same_number = numbers == number if number >= 0 else nothing
        return np.where(numbers >= 0, same_number, same_name)

    def of_type(self, positions: Positions, kind: OrganisationType) -> Positions:
        selected: Positions = positions[self.pool.types[positions] == TYPE_CODE[kind]]
        return selected

    def ranking_keys(self, positions: Positions, competences: np.uint64, themes: np.uint64) -> npt.NDArray[np.uint64]:
        """One sortable key: most needed competences, then most shared themes, then least load, then id."""
        p = self.pool
        covers = np.bitwise_count(p.competences[positions] & competences).astype(np.uint64)
        overlap = np.bitwise_count(p.themes[positions] & themes).astype(np.uint64)
        load = np.clip(self.load[positions], 0, 15).astype(np.uint64)
        keys: npt.NDArray[np.uint64] = (
            ((_U64(31) - covers) << _U64(58))
            | ((_U64(15) - overlap) << _U64(54))
            | (load << _U64(50))
            | (p.id_hi[positions] >> _U64(14))
        )
        return keys

    def best(self, positions: Positions, keys: npt.NDArray[np.uint64], n: int, *, distinct: bool = True) -> list[int]:
        """The n best positions by key (exact ties broken on the full id), at most one per organisation."""
        if len(positions) == 0 or n <= 0:
            return []
        take = min(len(positions), 4 * n if distinct else n)
        if take < len(positions):
            kth = np.partition(keys, take - 1)[take - 1]
            within = keys <= kth
            positions, keys = positions[within], keys[within]
        p = self.pool
        order = np.lexsort((p.id_lo[positions], p.id_hi[positions], keys))
        chosen: list[int] = []
        seen: set[tuple[int, int]] = set()
        for position in positions[order].tolist():
            organisation = self._organisation(position)
            if distinct and organisation in seen:
                continue
            seen.add(organisation)
            chosen.append(position)
            if len(chosen) == n:
                break
        return chosen

    def _organisation(self, position: int) -> tuple[int, int]:
        p = self.pool
        return (int(p.number_ids[position]), -1) if p.number_ids[position] >= 0 else (-1, int(p.name_ids[position]))

    def organisations(self, positions: Positions) -> int:
        """How many organisations these people are from (a group takes at most one person of each)."""
        return len({self._organisation(position) for position in positions.tolist()})

    def candidates(self, positions: Iterable[int]) -> list[Candidate]:
        return [self.pool.candidate_at(p, int(self.load[p])) for p in positions]

    def shortlist(
        self, need: Need, representative: OrganisationType, limits: ShortlistLimits, eligible: Positions
    ) -> list[Candidate]:
        """The candidates worth the solver's time among the people free for the need (`eligible`, as
        `eligible()` gave them: computed once per proposal, it is the one pass over the whole pool), sorted by id."""
        wanted, themes = competence_mask(need.competences), theme_mask(need.themes)
        keys = self.ranking_keys(eligible, wanted, themes)
        held = self.pool.competences[eligible]
        chosen: set[int] = set()
        for competence in need.competences:
            holders = (held & COMPETENCE_BIT[competence]) != 0
            chosen.update(self.best(eligible[holders], keys[holders], limits.per_competence))
        representatives = self.pool.types[eligible] == TYPE_CODE[representative]
        chosen.update(self.best(eligible[representatives], keys[representatives], limits.representatives))
        chosen.update(self.best(eligible, keys, limits.others))
        return sorted(self.candidates(chosen), key=lambda c: c.id)
