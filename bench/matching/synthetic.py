"""Synthetic pools and initiatives shaped like Malmö's: mostly businesses, a few large public employers."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator

from services.matching.domain.profiles import Candidate, Need, Organisation
from shared.taxonomy import Competence, OrganisationType, Theme

COMPETENCES = list(Competence)
THEMES = list(Theme)
# Some competences are common (project management), some rare (health care): a Zipf-like popularity.
COMPETENCE_WEIGHTS = [1 / (rank + 1) ** 0.8 for rank in range(len(COMPETENCES))]
TYPES = [
    (OrganisationType.BUSINESS, 0.62),
    (OrganisationType.MUNICIPALITY, 0.10),
    (OrganisationType.PUBLIC_AUTHORITY, 0.08),
    (OrganisationType.INDUSTRY_ORGANISATION, 0.12),
    (OrganisationType.OTHER, 0.08),
]


def _sample(rng: random.Random, population: list, weights: list[float] | None, k: int) -> set:  # type: ignore[type-arg]
    chosen: set = set()  # type: ignore[type-arg]
    while len(chosen) < k:
        chosen.add(rng.choices(population, weights)[0])
    return chosen


def organisations(rng: random.Random, size: int) -> list[Organisation]:
    """About five people per business; public employers are few and large (departments share a number)."""
    found = []
    for kind, share in TYPES:
        public = kind in (OrganisationType.MUNICIPALITY, OrganisationType.PUBLIC_AUTHORITY)
        count = max(3, int(size * share / (200 if public else 5)))
        for i in range(count):
            number = f"{rng.randrange(10**9, 10**10)}" if rng.random() < 0.8 else None
            found.append(Organisation(f"{kind.value} {i}", kind, number))
    return found


def pool(rng: random.Random, size: int) -> Iterator[Candidate]:
    orgs = organisations(rng, size)
    by_type = {kind: [o for o in orgs if o.type is kind] for kind, _ in TYPES}
    for _ in range(size):
        kind = rng.choices([k for k, _ in TYPES], [w for _, w in TYPES])[0]
        capacity = rng.choice([1, 1, 2, 2, 2, 3])
        languages = {"sv"} if rng.random() < 0.9 else set()
        if rng.random() < 0.6:
            languages.add("en")
        if rng.random() < 0.15:
            languages.add(rng.choice(["ar", "fa", "so", "de", "pl"]))
        yield Candidate(
            id=uuid.UUID(int=rng.getrandbits(128)),
            organisation=rng.choice(by_type[kind]),
            competences=frozenset(_sample(rng, COMPETENCES, COMPETENCE_WEIGHTS, rng.randint(1, 4))),
            themes=frozenset(rng.sample(THEMES, rng.randint(1, 3))),
            languages=frozenset(languages or {"en"}),
            capacity=capacity,
            load=rng.choice([0, 0, 0, 1, 1, 2]) if capacity > 1 else rng.choice([0, 0, 1]),
        )


def need(rng: random.Random, originators: list[Organisation], *, tight: bool = False) -> Need:
    """A typical initiative (1-5 needs, 3-7 seats) or a tight one (5-7 needs, exactly 3 seats)."""
    size_min = 3 if tight else rng.choice([3, 3, 4])
    return Need(
        initiative_id=uuid.UUID(int=rng.getrandbits(128)),
        competences=tuple(rng.sample(COMPETENCES, rng.randint(5, 7) if tight else rng.randint(1, 5))),
        themes=frozenset(rng.sample(THEMES, rng.randint(1, 3))),
        size_min=size_min,
        size_max=size_min if tight else size_min + rng.choice([0, 1, 2, 3]),
        language="sv" if rng.random() < 0.85 else "en",
        originator=rng.choice(originators),
    )
