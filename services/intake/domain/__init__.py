"""Intake's domain: the Initiative aggregate (its state machine and history) and the duplicate hint. No I/O."""

from services.intake.domain.duplicates import DuplicateBrief, DuplicateCandidate, likely_duplicates
from services.intake.domain.initiative import (
    ENDED_STATUSES,
    ERASED_NAME,
    OPEN_STATUSES,
    TRANSITIONS,
    Action,
    Channel,
    Initiative,
    Note,
    Originator,
    Proposal,
    Receipt,
    Status,
    StatusChange,
    format_reference,
)

__all__ = [
    "ENDED_STATUSES",
    "ERASED_NAME",
    "OPEN_STATUSES",
    "TRANSITIONS",
    "Action",
    "Channel",
    "DuplicateBrief",
    "DuplicateCandidate",
    "Initiative",
    "Note",
    "Originator",
    "Proposal",
    "Receipt",
    "Status",
    "StatusChange",
    "format_reference",
    "likely_duplicates",
]
