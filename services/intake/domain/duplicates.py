"""The duplicate hint: open initiatives that look like the same idea. No I/O.

The hint is computed after the submission is stored (intake consumes its own InitiativeSubmitted), over
a bounded list of candidates the database picks (a trigram index on PostgreSQL), and keeps the best few.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz import fuzz

from services.intake.domain.initiative import Status

MAX_DUPLICATE_HINTS = 10  # what a coordinator can look through; more is noise (issue 12: up to 1,074 seen)


@dataclass(frozen=True)
class DuplicateCandidate:
    id: uuid.UUID
    title: str
    summary: str
    organisation_number: str | None


@dataclass(frozen=True)
class DuplicateBrief:
    """How a possible duplicate is shown to coordinators next to the initiative."""

    id: uuid.UUID
    reference: str
    title: str
    status: Status


def likely_duplicates(
    title: str,
    summary: str,
    organisation_number: str | None,
    open_initiatives: Iterable[DuplicateCandidate],
    limit: int = MAX_DUPLICATE_HINTS,
) -> tuple[uuid.UUID, ...]:
    """Open initiatives that look like the same idea: same organisation number, or similar texts; the
    `limit` most alike first (the same organisation counts as fully alike)."""
    scored: list[tuple[tuple[bool, float, float], uuid.UUID]] = []
    text = f"{title} {summary}".lower()
    for other in open_initiatives:
        same_organisation = organisation_number is not None and other.organisation_number == organisation_number
        title_score = fuzz.token_set_ratio(title.lower(), other.title.lower())
        text_score = fuzz.token_set_ratio(text, f"{other.title} {other.summary}".lower())
        if same_organisation or (title_score >= 85 and text_score >= 80):
            # token_set_ratio calls a title inside a longer one 100: the plain ratio tells them apart.
            alike = (same_organisation, title_score + text_score, fuzz.ratio(title.lower(), other.title.lower()))
            scored.append((alike, other.id))
    scored.sort(key=lambda pair: pair[0], reverse=True)
    return tuple(found for _, found in scored[:limit])
