"""Why no group can be proposed for an initiative yet: what is lacking, worded for coordinators in
Swedish and English. No I/O."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from shared.taxonomy import COMPETENCES_SV_EN, LANGUAGES_SV_EN, Competence, Language


class Lack(StrEnum):
    MUNICIPALITY_REPRESENTATIVE = "municipality_representative"  # no municipality or public-authority person free
    PEOPLE = "people"  # too few free people (from different organisations), or no combination keeps the rules
    COMPETENCES = "competences"  # needed competences that nobody free brings


@dataclass(frozen=True)
class Blockage:
    """What stops a group from being proposed, against the people free for the initiative (confirmed,
    below capacity, speaking its language, outside the originator's organisation)."""

    missing: tuple[Lack, ...]
    people_needed: int  # the group's minimum size
    size_max: int
    people_free: int
    language: str  # the initiative's language, which everyone in the group speaks
    missing_competences: tuple[Competence, ...] = ()

    def same_reason(self, other: Blockage | None) -> bool:
        """Coordinators are told again only when what is lacking changed (not when a count moved)."""
        return other is not None and (other.missing, other.missing_competences, other.people_needed) == (
            self.missing,
            self.missing_competences,
            self.people_needed,
        )

    @property
    def text(self) -> str:
        return self.text_in("en")

    def text_in(self, language: str) -> str:
        """The reason in Swedish ("sv") or English (any other language): one clause per thing lacking."""
        sv = language == "sv"
        words = _SV if sv else _EN
        clauses = []
        if Lack.MUNICIPALITY_REPRESENTATIVE in self.missing:
            clauses.append(words["representative"].format(language=_language_name(self.language, sv)))
        if Lack.PEOPLE in self.missing:
            clauses.append(_people(self, words))
        if Lack.COMPETENCES in self.missing and self.missing_competences:
            labels = ", ".join(COMPETENCES_SV_EN[c][0 if sv else 1] for c in self.missing_competences)
            one = len(self.missing_competences) == 1
            clauses.append(words["competence" if one else "competences"].format(labels))
        return "; ".join(clauses)


_EN = {
    "representative": (
        "no municipality representative or public authority is free (speaking {language}, below capacity, "
        "outside the originator's organisation)"
    ),
    "group": "no group of {size} from different organisations can be formed",
    "size_one": "{n} person",
    "size_many": "{n} people",
    "size_range": "{low} to {high} people",
    "free_none": ": nobody is free for this initiative",
    "free_one": " from the 1 person free for this initiative",
    "free_many": " from the {n} people free for this initiative",
    "competence": "nobody free brings the needed competence: {}",
    "competences": "nobody free brings the needed competences: {}",
}
_SV = {
    "representative": (
        "ingen kommunrepresentant eller myndighet är ledig (som talar {language}, har plats kvar och inte hör "
        "till initiativtagarens organisation)"
    ),
    "group": "ingen grupp på {size} från olika organisationer kan bildas",
    "size_one": "{n} person",
    "size_many": "{n} personer",
    "size_range": "{low} till {high} personer",
    "free_none": ": ingen är ledig för initiativet",
    "free_one": " av den 1 person som är ledig för initiativet",
    "free_many": " av de {n} personer som är lediga för initiativet",
    "competence": "ingen som är ledig har den kompetens som behövs: {}",
    "competences": "ingen som är ledig har de kompetenser som behövs: {}",
}


def _people(blockage: Blockage, words: dict[str, str]) -> str:
    low, high = blockage.people_needed, blockage.size_max
    if low != high:
        size = words["size_range"].format(low=low, high=high)
    else:
        size = words["size_one" if low == 1 else "size_many"].format(n=low)
    free = blockage.people_free
    counted = words["free_none" if free == 0 else "free_one" if free == 1 else "free_many"].format(n=free)
    return words["group"].format(size=size) + counted


def _language_name(code: str, sv: bool) -> str:
    names = LANGUAGES_SV_EN.get(Language(code)) if code in Language.__members__.values() else None
    if names is None:
        return code
    return names[0].lower() if sv else names[1]
