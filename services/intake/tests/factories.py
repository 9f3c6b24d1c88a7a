"""Test data for intake: a valid portal submission (the documented example) and a fresh Initiative aggregate."""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime
from typing import Any

from services.intake.domain import Initiative, Originator, Proposal
from services.intake.schemas.submission import SUBMISSION_EXAMPLE
from shared.taxonomy import Language, OrganisationType, Seeking, Theme

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def valid_initiative(**changes: Any) -> dict[str, Any]:
    """The submission example of intake's OpenAPI document, with `changes`: what a portal developer copies."""
    return {**copy.deepcopy(SUBMISSION_EXAMPLE), **changes}


def new_initiative(at: datetime = NOW) -> Initiative:
    proposal = Proposal(
        title="Sommarjobb för unga i Rosengård",
        summary="Companies offer summer jobs",
        description="",
        originator=Originator("Acme AB", OrganisationType.BUSINESS, "556036-0793", "Anna", "anna@acme.se", None),
        themes=(Theme.EMPLOYMENT,),
        seeking=(Seeking.COLLABORATION_PARTNERS,),
        competences_needed=(),
        group_size_min=3,
        group_size_max=6,
        language=Language.SV,
    )
    return Initiative.submit(proposal, id=uuid.uuid4(), reference="MM-2026-0001", at=at)
