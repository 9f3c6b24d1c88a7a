"""Small builders for matching's tests: people, needs and pools."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from services.matching.domain.pool import Pool
from services.matching.domain.profiles import Candidate, Need, Organisation
from shared.taxonomy import Competence, OrganisationType, Theme

ORIGINATOR = Organisation("Acme Bygg AB", OrganisationType.BUSINESS, "556036-0793")


def person(
    n: int,
    *,
    organisation: str | None = None,
    kind: OrganisationType = OrganisationType.BUSINESS,
    number: str | None = None,
    competences: Iterable[Competence] = (),
    themes: Iterable[Theme] = (),
    languages: Iterable[str] = ("sv",),
    capacity: int = 2,
    load: int = 0,
    active: bool = True,
) -> Candidate:
    return Candidate(
        id=uuid.UUID(int=n),
        organisation=Organisation(organisation or f"Organisation {n}", kind, number),
        competences=frozenset(competences),
        themes=frozenset(themes),
        languages=frozenset(languages),
        capacity=capacity,
        load=load,
        active=active,
    )


def municipal(n: int, **changes: Any) -> Candidate:
    return person(
        n, kind=OrganisationType.MUNICIPALITY, organisation=changes.pop("organisation", f"Kommun {n}"), **changes
    )


def need(
    competences: Iterable[Competence] = (Competence.RECRUITMENT, Competence.MENTORING),
    themes: Iterable[Theme] = (Theme.EMPLOYMENT,),
    size: tuple[int, int] = (3, 5),
    language: str = "sv",
    originator: Organisation = ORIGINATOR,
) -> Need:
    return Need(uuid.UUID(int=10**9), tuple(competences), frozenset(themes), size[0], size[1], language, originator)


def pool_of(people: Iterable[Candidate]) -> Pool:
    pool = Pool(capacity=4)
    for p in people:
        pool.upsert(p)
    return pool
