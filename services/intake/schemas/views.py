"""What intake answers: the receipt, the staff's list and detail, the originator's view."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal, Self

from pydantic import BaseModel, Field

from services.intake.domain import Action, Channel, Initiative, Receipt, Status
from services.intake.handlers import InitiativeDetails
from services.intake.schemas.submission import GroupSize
from shared.taxonomy import Competence, Language, OrganisationType, Seeking, Theme


class InitiativeReceipt(BaseModel):
    """What the portal shows after a submission; the originator's email with the private link follows."""

    id: uuid.UUID = Field(description="The initiative's id in the staff API (`/api/v1/initiatives/{id}`).")
    reference: str = Field(
        description="The reference to quote in every contact, numbered within the year.", examples=["MM-2026-0042"]
    )
    status: Status = Field(description="`submitted`: waiting for a coordinator's review.")
    submitted_at: datetime

    @classmethod
    def from_domain(cls, receipt: Receipt) -> Self:
        return cls.model_validate(receipt, from_attributes=True)


class HistoryEntry(BaseModel):
    """One step of the initiative's history, oldest first."""

    at: datetime
    actor: str = Field(
        description="Who took the step: a coordinator's email, `originator`, or `matching` for the group steps.",
        examples=["eva.coordinator@malmo.se"],
    )
    action: str = Field(
        description="The step: `submit`, `accept`, `reject`, `request_info`, `answer`, `withdraw`, "
        "`start_group_forming`, `mark_group_formed`, `close`, or `assign_lead` (staff only: the status stays).",
        examples=["request_info"],
    )
    from_status: Status | None = Field(description="The status before the step; none for the submission.")
    to_status: Status
    note: str | None = Field(
        description="The reason, question or answer given with the step; for `assign_lead` the new lead "
        "(none when unassigned)."
    )


class OriginatorStep(BaseModel):
    """One step of the initiative's history as its originator sees it: which side took it, never who."""

    at: datetime
    actor: Literal["originator", "coordinator"] = Field(
        description="`originator`, or `coordinator` for a step the Trade and Industry department took "
        "(the staff member is not named on the public page)."
    )
    action: str = Field(description="The step, as in the staff's history.", examples=["request_info"])
    from_status: Status | None
    to_status: Status
    note: str | None = Field(description="The reason, question or answer given with the step.")

    @classmethod
    def of(cls, change: Any) -> Self:
        actor = "originator" if change.actor == "originator" else "coordinator"
        return cls.model_validate({**vars(change), "actor": actor}, from_attributes=True)


class NoteOut(BaseModel):
    """A coordinator's private note: staff only, never in the originator's view nor in any event."""

    at: datetime
    author: str = Field(description="The coordinator who wrote it.", examples=["eva.coordinator@malmo.se"])
    text: str = Field(examples=["Ringde Anna: skolorna är med från augusti."])


class OriginatorOut(BaseModel):
    """The organisation behind the initiative and its contact person, as submitted."""

    organisation_name: str
    organisation_type: OrganisationType
    organisation_number: str | None = Field(description="Normalised as NNNNNN-NNNN.", examples=["556036-0793"])
    contact_name: str
    contact_email: str
    contact_phone: str | None = Field(description="In E.164.", examples=["+46701234567"])
    contact_erased: bool = Field(
        description="True once the contact person was erased: their name reads `(erased)`, email and phone are empty."
    )


class InitiativeSummary(BaseModel):
    """An initiative as the staff list shows it, and as a decision answers."""

    id: uuid.UUID
    reference: str
    status: Status
    title: str
    summary: str
    organisation_name: str
    organisation_type: OrganisationType
    themes: list[Theme]
    submitted_at: datetime
    updated_at: datetime | None = Field(description="The last step in its history.")
    lead: str | None = Field(
        description="The coordinator who follows the initiative (email or subject); none while unassigned.",
        examples=["eva.coordinator@malmo.se"],
    )
    channel: Channel = Field(
        description="How it reached Meet Malmö: `portal` (the public form) or `meeting` (registered by a "
        "coordinator on the originator's behalf after a personal meeting)."
    )

    @classmethod
    def from_domain(cls, initiative: Initiative, **more: Any) -> Self:
        """The initiative's fields and its originator's under the same names; `more` for the rest."""
        return cls.model_validate({**vars(initiative.originator), **vars(initiative), **more}, from_attributes=True)


class DuplicateHint(BaseModel):
    """An open initiative that looked like the same idea when this one came in: a hint, nothing is blocked."""

    id: uuid.UUID
    reference: str
    title: str
    status: Status


class InitiativeDetail(InitiativeSummary):
    """Everything about one initiative, for coordinators and operators."""

    description: str
    originator: OriginatorOut
    seeking: list[Seeking]
    competences_needed: list[Competence]
    group_size: GroupSize
    language: Language
    history: list[HistoryEntry]
    possible_duplicates: list[DuplicateHint] = Field(
        description="Open initiatives with the same organisation number or similar texts at submission."
    )
    registered_by: str | None = Field(
        description="For channel `meeting`: the coordinator who registered it and confirmed the consent.",
        examples=["eva.coordinator@malmo.se"],
    )
    notes: list[NoteOut] = Field(description="The coordinators' private notes, oldest first.")

    @classmethod
    def from_details(cls, details: InitiativeDetails) -> Self:
        initiative = details.initiative
        return cls.from_domain(
            initiative,
            group_size=GroupSize(min=initiative.group_size_min, max=initiative.group_size_max),
            possible_duplicates=details.possible_duplicates,
        )


class OriginatorView(BaseModel):
    """What the originator sees through the private link: coordinators' decisions, not matching's steps nor
    the staff's lead and notes."""

    reference: str
    status: Status
    title: str
    summary: str
    description: str
    submitted_at: datetime
    question: str | None = Field(description="The coordinator's question while information is requested.")
    can_answer: bool = Field(description="True while a question waits for the originator's answer.")
    can_withdraw: bool = Field(description="True until the working group is formed or the initiative has ended.")
    history: list[OriginatorStep]

    @classmethod
    def from_domain(cls, initiative: Initiative) -> Self:
        """Matching's steps are the platform's business and the lead assignments the staff's: neither is shown
        to the originator, nor are the staff's notes, nor which staff member took a step."""
        return cls.model_validate(
            {
                **vars(initiative),
                "question": initiative.pending_question,
                "can_answer": initiative.can(Action.ANSWER),
                "can_withdraw": initiative.can(Action.WITHDRAW),
                "history": [
                    OriginatorStep.of(c) for c in initiative.status_changes if not c.actor.startswith("matching")
                ],
            },
            from_attributes=True,
        )
