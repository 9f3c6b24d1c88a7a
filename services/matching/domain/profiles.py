"""What matching knows of people and initiatives: organisations, candidates, needs. No I/O."""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from functools import cached_property

from services.matching.domain.blockage import Blockage
from shared.taxonomy import Competence, OrganisationType, Theme

# Legal-form words that do not tell two organisations apart ("Acme Bygg AB" is "Acme Bygg").
_LEGAL_FORMS = frozenset({"ab", "aktiebolag", "publ", "hb", "kb", "handelsbolag", "kommanditbolag", "ek", "for"})


def normalise_organisation_name(name: str) -> str:
    folded = unicodedata.normalize("NFKC", name).casefold()
    words = re.findall(r"\w+", folded)
    kept = [w for w in words if w not in _LEGAL_FORMS]
    return " ".join(kept or words)


def normalise_organisation_number(number: str | None) -> str | None:
    """Digits only; the 12-digit form (16 and ten digits) is the 10-digit number with a century prefix."""
    if not number:
        return None
    digits = re.sub(r"\D", "", number)
    if len(digits) == 12 and digits.startswith("16"):
        digits = digits[2:]
    return digits or None


@dataclass(frozen=True)
class Organisation:
    name: str
    type: OrganisationType
    number: str | None = None

    # Cached: the solver compares every pair of its short list, and normalising is a regex each time.
    @cached_property
    def name_key(self) -> str:
        return normalise_organisation_name(self.name)

    @cached_property
    def number_key(self) -> str | None:
        return normalise_organisation_number(self.number)


def same_organisation(a: Organisation, b: Organisation) -> bool:
    """Same organisation number when both have one; otherwise the same normalised name."""
    if a.number_key and b.number_key:
        return a.number_key == b.number_key
    return a.name_key == b.name_key


@dataclass(frozen=True)
class Candidate:
    """A person in the pool, as the solver sees them (no contact details)."""

    id: uuid.UUID
    organisation: Organisation
    competences: frozenset[Competence]
    themes: frozenset[Theme]
    languages: frozenset[str]
    capacity: int
    load: int = 0  # groups they sit in or are invited to (or proposed for) right now
    active: bool = True

    @property
    def has_room(self) -> bool:
        return self.load < self.capacity


@dataclass(frozen=True)
class Need:
    """What an accepted initiative asks of its working group."""

    initiative_id: uuid.UUID
    competences: tuple[Competence, ...]
    themes: frozenset[Theme]
    size_min: int
    size_max: int
    language: str
    originator: Organisation


REPRESENTATIVE_TYPES = (OrganisationType.MUNICIPALITY, OrganisationType.PUBLIC_AUTHORITY)


def eligible(candidate: Candidate, need: Need) -> bool:
    """The rules on one person: in the pool, below capacity, speaks the language, not the originator's own."""
    return (
        candidate.active
        and candidate.has_room
        and need.language in candidate.languages
        and not same_organisation(candidate.organisation, need.originator)
    )


def covered_competences(need: Need, members: Sequence[Candidate]) -> tuple[Competence, ...]:
    held = frozenset().union(*(m.competences for m in members)) if members else frozenset()
    return tuple(c for c in need.competences if c in held)


def uncovered_competences(need: Need, members: Sequence[Candidate]) -> tuple[Competence, ...]:
    covered = set(covered_competences(need, members))
    return tuple(c for c in need.competences if c not in covered)


@dataclass(frozen=True)
class Contact:
    name: str
    email: str
    phone: str | None


ERASED_CONTACT = Contact("(erased)", "", None)  # an erased person: as shared.contracts.personal_data blanks them


class InitiativeStatus(StrEnum):
    """Where intake's initiative stands, as far as matching follows it."""

    ACCEPTED = "accepted"
    WITHDRAWN = "withdrawn"
    CLOSED = "closed"


@dataclass(frozen=True)
class Initiative:
    """An accepted initiative as matching keeps it (from intake's events)."""

    id: uuid.UUID
    reference: str
    title: str
    summary: str
    status: InitiativeStatus
    themes: tuple[Theme, ...]
    competences: tuple[Competence, ...]
    size_min: int
    size_max: int
    language: str
    originator: Organisation
    contact: Contact
    formation_problem: str | None = None  # why no group could be proposed yet (blockage.text)
    blockage: Blockage | None = None  # what is lacking, as coordinators were last told

    @property
    def need(self) -> Need:
        return Need(
            self.id,
            self.competences,
            frozenset(self.themes),
            self.size_min,
            self.size_max,
            self.language,
            self.originator,
        )


@dataclass(frozen=True)
class Resource:
    """A person in matching's pool (from the resources events), with their contact details."""

    id: uuid.UUID
    contact: Contact
    language: str  # the language their emails are written in
    organisation: Organisation
    role_title: str
    competences: frozenset[Competence]
    themes: frozenset[Theme]
    languages: frozenset[str]
    capacity: int
    active: bool
    load: int = 0

    @property
    def candidate(self) -> Candidate:
        return Candidate(
            self.id,
            self.organisation,
            self.competences,
            self.themes,
            self.languages,
            self.capacity,
            self.load,
            self.active,
        )


def more_available(before: Resource | None, after: Resource) -> bool:
    """Whether the change can let someone into a group they could not join before: newly in the pool or
    back from a pause, more capacity, new competences or languages, another organisation."""
    if not after.active:
        return False
    return (
        before is None
        or not before.active
        or after.capacity > before.capacity
        or bool(after.competences - before.competences)
        or bool(after.languages - before.languages)
        or after.organisation != before.organisation
    )


@dataclass(frozen=True)
class PoolChanges:
    """What a run of changes to the pool leaves of each person it names, as if applied one after another."""

    profiles: dict[uuid.UUID, Resource]  # the last profile told, inactive when a withdrawal followed it
    withdrawn: frozenset[uuid.UUID]  # withdrawn without a profile in the run: their stored profile goes inactive


def net_changes(changes: Iterable[tuple[uuid.UUID, Resource | None]]) -> PoolChanges:
    """Fold (person, new profile or None for a withdrawal) in order: per person the last one wins, a
    withdrawal keeps the profile it follows but inactive, a profile after a withdrawal replaces it whole."""
    profiles: dict[uuid.UUID, Resource] = {}
    withdrawn: set[uuid.UUID] = set()
    for person, profile in changes:
        if profile is not None:
            profiles[person] = profile
            withdrawn.discard(person)
        elif person in profiles:
            profiles[person] = replace(profiles[person], active=False)
        else:
            withdrawn.add(person)
    return PoolChanges(profiles, frozenset(withdrawn))
