"""The staff list's filters and sort orders, read from the query string."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import Depends, Query
from pydantic import AfterValidator

from services.intake.db import Filters
from services.intake.domain import Status
from shared.taxonomy import OrganisationType, Theme
from shared.validation import PlainText


def moment(value: datetime | None) -> datetime | None:
    """A filter bound in UTC (naive means UTC), within years the database can hold."""
    if value is None:
        return None
    try:
        utc = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    except OverflowError:
        raise ValueError("date out of range") from None
    if not 1900 <= utc.year <= 9000:
        raise ValueError("date out of range: use a year between 1900 and 9000")
    return utc


SortOrder = Literal[
    "submitted_at", "-submitted_at", "reference", "-reference", "title", "-title", "status", "-status"
]  # fmt: skip


def search_filters(
    status_: Annotated[list[Status] | None, Query(alias="status")] = None,
    theme: Theme | None = None,
    organisation_type: OrganisationType | None = None,
    submitted_from: Annotated[datetime | None, AfterValidator(moment)] = None,
    submitted_to: Annotated[datetime | None, AfterValidator(moment)] = None,
    q: Annotated[PlainText | None, Query(max_length=200, description="free text")] = None,
    lead: Annotated[
        PlainText | None,
        Query(
            min_length=1,
            max_length=320,
            description="only those this coordinator leads (email or subject, any case); `none` for the "
            "initiatives nobody leads yet",
        ),
    ] = None,
) -> Filters:
    unassigned = lead is not None and lead.strip().lower() == "none"
    lead = None if unassigned else lead
    return Filters(tuple(status_ or ()), theme, organisation_type, submitted_from, submitted_to, q, lead, unassigned)


FiltersDep = Annotated[Filters, Depends(search_filters)]
