"""The hard rules of a working group, and the explanation each member gets. No I/O.

Hard rules: size within the initiative's range; at least one municipality representative (a
public authority when no municipality representative is free); at most one person per
organisation; nobody at or above capacity; nobody from the originator's organisation; everyone
speaks the initiative's language.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from services.matching.domain.profiles import REPRESENTATIVE_TYPES, Candidate, Need, same_organisation
from shared.taxonomy import COMPETENCES_SV_EN, THEMES_SV_EN, Competence, OrganisationType, Theme


def organisation_cliques(candidates: Sequence[Candidate]) -> list[list[int]]:
    """Sets of candidates (by index) of which at most one may join: together they cover every pair of
    the same organisation (same number when both have one, else the same normalised name)."""
    by_number: dict[str, list[int]] = defaultdict(list)
    unnumbered_by_name: dict[str, list[int]] = defaultdict(list)
    numbered_by_name: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for index, candidate in enumerate(candidates):
        organisation = candidate.organisation
        number = organisation.number_key
        if number:
            by_number[number].append(index)
            numbered_by_name[organisation.name_key][number].append(index)
        else:
            unnumbered_by_name[organisation.name_key].append(index)
    cliques = [members for members in by_number.values() if len(members) > 1]
    for name, unnumbered in unnumbered_by_name.items():
        numbered = numbered_by_name.get(name, {})
        if not numbered:
            cliques.append(unnumbered)
        for same_number in numbered.values():
            cliques.append(unnumbered + same_number)
    return [c for c in cliques if len(c) > 1]


def has_representative(members: Sequence[Candidate], kind: OrganisationType) -> bool:
    return any(m.organisation.type is kind for m in members)


def violations(need: Need, members: Sequence[Candidate], representative: OrganisationType | None) -> list[str]:
    """Every hard rule the group breaks; `representative` is the kind the pool required, members' loads
    are as they were before joining."""
    found = []
    if not need.size_min <= len(members) <= need.size_max:
        found.append(f"size {len(members)} outside {need.size_min}..{need.size_max}")
    if len({m.id for m in members}) != len(members):
        found.append("the same person twice")
    for m in members:
        if not m.active:
            found.append(f"{m.id} is not in the pool")
        if not m.has_room:
            found.append(f"{m.id} is at capacity ({m.load} of {m.capacity})")
        if need.language not in m.languages:
            found.append(f"{m.id} does not speak {need.language}")
        if same_organisation(m.organisation, need.originator):
            found.append(f"{m.id} is from the originator's organisation")
    for i, a in enumerate(members):
        for b in members[i + 1 :]:
            if same_organisation(a.organisation, b.organisation):
                found.append(f"{a.id} and {b.id} are from the same organisation")
    if representative is None:
        found.append("no municipality representative or public authority was free")
    elif not has_representative(members, representative):
        found.append(f"no {representative.value.replace('_', ' ')} representative")
    return found


# The explanation's sentences, in the two languages emails are written in (labels come from the taxonomy).
_SENTENCES = {
    "en": {
        OrganisationType.MUNICIPALITY: "Municipality representative.",
        OrganisationType.PUBLIC_AUTHORITY: (
            "Municipality representative (public authority: no municipality representative was free)."
        ),
        "covers": "Covers needed competences: {}.",
        "covers_none": "Covers none of the needed competences.",
        "represents": "Chosen as the municipality's representative in the group.",
        "shares": "Shares themes: {}.",
        "shares_none": "Shares no theme with the initiative.",
        "load_0": "Load: in no other group, capacity {capacity}.",
        "load_1": "Load: in 1 other group, capacity {capacity}.",
        "load_n": "Load: in {load} other groups, capacity {capacity}.",
    },
    "sv": {
        OrganisationType.MUNICIPALITY: "Kommunens representant.",
        OrganisationType.PUBLIC_AUTHORITY: "Kommunens representant (myndighet: ingen från kommunen var ledig).",
        "covers": "Bidrar med kompetenser som behövs: {}.",
        "covers_none": "Bidrar inte med någon av de kompetenser som behövs.",
        "represents": "Vald som kommunens representant i gruppen.",
        "shares": "Delar teman: {}.",
        "shares_none": "Delar inget tema med initiativet.",
        "load_0": "Belastning: i ingen annan grupp, kapacitet {capacity}.",
        "load_1": "Belastning: i 1 annan grupp, kapacitet {capacity}.",
        "load_n": "Belastning: i {load} andra grupper, kapacitet {capacity}.",
    },
}


@dataclass(frozen=True)
class Explanation:
    """Why a member was chosen, for coordinators (and the invitation)."""

    competences_covered: tuple[Competence, ...]
    themes_shared: tuple[Theme, ...]
    load: int
    capacity: int
    representative: OrganisationType | None = None  # set when representing is why they are in the group

    @property
    def text(self) -> str:
        return self.text_in("en")

    def text_in(self, language: str) -> str:
        """The explanation in Swedish ("sv") or English (any other language)."""
        sv = language == "sv"
        sentences = _SENTENCES["sv" if sv else "en"]
        label = 0 if sv else 1
        parts = []
        represents = self.representative is not None and self.representative in REPRESENTATIVE_TYPES
        if represents and self.representative is not None:
            parts.append(sentences[self.representative])
        if self.competences_covered:
            parts.append(
                sentences["covers"].format(", ".join(COMPETENCES_SV_EN[c][label] for c in self.competences_covered))
            )
        else:  # a representative is there for the role she fills, not for a competence
            parts.append(sentences["represents" if represents else "covers_none"])
        if self.themes_shared:
            parts.append(sentences["shares"].format(", ".join(THEMES_SV_EN[t][label] for t in self.themes_shared)))
        else:
            parts.append(sentences["shares_none"])
        load = sentences["load_0" if self.load == 0 else "load_1" if self.load == 1 else "load_n"]
        parts.append(load.format(load=self.load, capacity=self.capacity))
        return " ".join(parts)

    def as_representative(self, kind: OrganisationType | None) -> Explanation:
        return Explanation(self.competences_covered, self.themes_shared, self.load, self.capacity, kind)


def explain(need: Need, member: Candidate, representative: OrganisationType | None = None) -> Explanation:
    return Explanation(
        competences_covered=tuple(c for c in need.competences if c in member.competences),
        themes_shared=tuple(t for t in Theme if t in need.themes and t in member.themes),
        load=member.load,
        capacity=member.capacity,
        representative=representative,
    )


def explanations(
    need: Need, members: Sequence[Candidate], representative: tuple[uuid.UUID, OrganisationType]
) -> dict[uuid.UUID, Explanation]:
    rep_id, kind = representative
    return {m.id: explain(need, m, kind if m.id == rep_id else None) for m in members}
