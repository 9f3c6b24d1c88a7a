"""Small builders for matching's tests: people, needs and pools for the domain; the events intake and
resources publish for the service."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from services.matching.domain.pool import Pool
from services.matching.domain.profiles import Candidate, Need, Organisation
from shared.contracts.initiatives import InitiativeAccepted, Originator
from shared.contracts.resources import ResourceProfile, ResourceRegistered
from shared.taxonomy import Competence, Language, OrganisationType, Seeking, Theme

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


def accepted(initiative_id: uuid.UUID | None = None, **changes: Any) -> InitiativeAccepted:
    initiative_id = initiative_id or uuid.uuid4()
    values: dict[str, Any] = {
        "initiative_id": initiative_id,
        "reference": "MM-2026-0042",
        "status": "accepted",
        "title": "Sommarjobb för unga i Rosengård",
        "summary": "Företag i Malmö erbjuder sommarjobb till unga i samarbete med staden.",
        "themes": (Theme.EMPLOYMENT,),
        "seeking": (Seeking.COLLABORATION_PARTNERS,),
        "competences_needed": (Competence.RECRUITMENT, Competence.MENTORING),
        "group_size_min": 3,
        "group_size_max": 4,
        "language": Language.SV,
        "originator": Originator(
            organisation_name="Acme Bygg AB",
            organisation_type=OrganisationType.BUSINESS,
            organisation_number="556036-0793",
            contact_name="Anna Andersson",
            contact_email="anna.andersson@acme.example",
            contact_phone="+46701234567",
        ),
        "status_url": f"http://127.0.0.1:8001/my/initiatives/{initiative_id}",
        "decided_by": "eva.coordinator@malmo.se",
    }
    values.update(changes)
    return InitiativeAccepted(**values)


def registered(
    name: str,
    organisation: str,
    *,
    kind: OrganisationType = OrganisationType.BUSINESS,
    competences: Iterable[Competence] = (),
    themes: Iterable[Theme] = (Theme.EMPLOYMENT,),
    capacity: int = 2,
    languages: Iterable[str] = ("sv", "en"),
    resource_id: uuid.UUID | None = None,
) -> ResourceRegistered:
    slug = name.lower().replace(" ", ".")
    return ResourceRegistered(
        resource_id=resource_id or uuid.uuid4(),
        profile=ResourceProfile(
            name=name,
            email=f"{slug}@example.se",
            phone=None,
            language=Language.SV,
            organisation_name=organisation,
            organisation_type=kind,
            role_title="Specialist",
            competences=tuple(competences),
            themes=tuple(themes),
            capacity=capacity,
            languages=tuple(languages),
        ),
        profile_link_version=0,  # v2: the link itself travels in no event
        registered_by="self",
    )


def team() -> list[ResourceRegistered]:
    """A small pool: two municipality people, recruiters, mentors and someone from the originator's firm."""
    m = OrganisationType.MUNICIPALITY
    return [
        registered("Maria Kommun", "Malmö stad", kind=m, competences=[Competence.LABOUR_MARKET]),
        registered("Mats Kommun", "Lunds kommun", kind=m, competences=[Competence.EDUCATION]),
        registered("Rita Rekryt", "Rekrytera AB", competences=[Competence.RECRUITMENT]),
        registered("Rolf Rekryt", "Bemanning Syd AB", competences=[Competence.RECRUITMENT]),
        registered("Mona Mentor", "Mentorhuset", competences=[Competence.MENTORING]),
        registered("Mikael Mentor", "Coachbolaget", competences=[Competence.MENTORING]),
        registered("Agnes Acme", "Acme Bygg", competences=[Competence.RECRUITMENT, Competence.MENTORING]),
    ]
