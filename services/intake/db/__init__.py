"""Intake's persistence: tables, the initiative repository, the unit of work."""

from services.intake.db.repositories import (
    ConcurrentSubmission,
    ConcurrentUpdate,
    Filters,
    InitiativeRepository,
    NewReferenceYear,
    ReferenceNumbers,
)
from services.intake.db.tables import metadata
from services.intake.db.unit_of_work import IntakeUnitOfWork

__all__ = [
    "ConcurrentSubmission",
    "ConcurrentUpdate",
    "Filters",
    "InitiativeRepository",
    "IntakeUnitOfWork",
    "NewReferenceYear",
    "ReferenceNumbers",
    "metadata",
]
