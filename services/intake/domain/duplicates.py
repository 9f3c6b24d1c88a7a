"""The duplicate hint: open initiatives that look like the same idea. No I/O."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz import fuzz

from services.intake.domain.initiative import Status


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
    title: str, summary: str, organisation_number: str | None, open_initiatives: Iterable[DuplicateCandidate]
) -> tuple[uuid.UUID, ...]:
    """Open initiatives that look like the same idea: same organisation number, or similar texts."""
    found = []
    for other in open_initiatives:
        same_organisation = organisation_number is not None and other.organisation_number == organisation_number
        similar_title = fuzz.token_set_ratio(title.lower(), other.title.lower()) >= 85
        similar_text = (
            fuzz.token_set_ratio(f"{title} {summary}".lower(), f"{other.title} {other.summary}".lower()) >= 80
        )
        if same_organisation or (similar_title and similar_text):
            found.append(other.id)
    return tuple(found)
