"""What staff search the registry by. No I/O: the repository turns it into SQL."""

from __future__ import annotations

from dataclasses import dataclass

from services.resources.domain.resource import Status
from shared.taxonomy import Competence, OrganisationType, Theme


@dataclass(frozen=True)
class SearchFilters:
    """Values within one filter are alternatives (any of them); different filters must all hold."""

    competences: tuple[Competence, ...] = ()
    themes: tuple[Theme, ...] = ()
    organisation_types: tuple[OrganisationType, ...] = ()
    languages: tuple[str, ...] = ()
    statuses: tuple[Status, ...] = ()
    min_capacity: int | None = None
    text: str | None = None
