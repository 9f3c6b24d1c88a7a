"""Test data for intake: a valid portal submission and a fresh Initiative aggregate."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from services.intake.domain import Initiative, Originator, Proposal
from shared.taxonomy import Language, OrganisationType, Seeking, Theme

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def valid_initiative(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "Sommarjobb för unga i Rosengård",
        "summary": "Företag i Malmö erbjuder sommarjobb till unga i samarbete med staden.",
        "description": "Vi vill testa en modell där näringslivet och staden tillsammans ...",
        "originator": {
            "organisation_name": "Acme Bygg AB",
            "organisation_type": "business",
            "organisation_number": "5560360793",
            "contact_name": "Anna Andersson",
            "contact_email": "anna.andersson@acme.example",
            "contact_phone": "070-123 45 67",
        },
        "themes": ["employment", "competence_provision"],
        "seeking": ["collaboration_partners"],
        "competences_needed": ["recruitment", "mentoring"],
        "group_size": {"min": 3, "max": 5},
        "language": "sv",
        "consent": True,
    }
    body.update(changes)
    return body


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
