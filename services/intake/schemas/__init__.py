"""Intake's request and response models: the portal's submission, the decisions' bodies, the staff
list's filters, and how an initiative is shown to each reader."""

from services.intake.schemas.decisions import (
    Answer,
    InformationRequest,
    LeadAssignment,
    NoteIn,
    Rejection,
    Withdrawal,
)
from services.intake.schemas.filters import FiltersDep, SortOrder
from services.intake.schemas.status_links import StatusLinkRequest, StatusLinkRequested
from services.intake.schemas.submission import GroupSize, InitiativeCreate, OriginatorIn
from services.intake.schemas.views import (
    DuplicateHint,
    HistoryEntry,
    InitiativeDetail,
    InitiativeReceipt,
    InitiativeSummary,
    NoteOut,
    OriginatorOut,
    OriginatorView,
)

__all__ = [
    "Answer",
    "DuplicateHint",
    "FiltersDep",
    "GroupSize",
    "HistoryEntry",
    "InformationRequest",
    "InitiativeCreate",
    "InitiativeDetail",
    "InitiativeReceipt",
    "InitiativeSummary",
    "LeadAssignment",
    "NoteIn",
    "NoteOut",
    "OriginatorIn",
    "OriginatorOut",
    "OriginatorView",
    "Rejection",
    "SortOrder",
    "StatusLinkRequest",
    "StatusLinkRequested",
    "Withdrawal",
]
