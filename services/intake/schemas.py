"""Intake's request and response models, and how an initiative is shaped for each reader."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, Self

from fastapi import Depends, Query
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, EmailStr, Field, model_validator

from services.intake.db import Filters
from services.intake.domain import Action, Initiative, Originator, Proposal, Receipt, Status
from services.intake.handlers import (
    AnswerInformationRequest,
    InitiativeDetails,
    RejectInitiative,
    RequestInformation,
    SubmitInitiative,
    WithdrawInitiative,
)
from shared.taxonomy import Competence, Language, OrganisationType, Seeking, Theme
from shared.validation import MultilineText, OrganisationNumber, PhoneNumber, PlainText

# --- validation of what the portal sends ---------------------------------------------------------


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


def unique(values: list[Any]) -> list[Any]:
    return list(dict.fromkeys(values))


def blank_is_none(value: object) -> object:
    """Portal forms send an empty string for an optional field left empty."""
    return None if isinstance(value, str) and not value.strip() else value


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class OriginatorIn(Strict):
    organisation_name: PlainText = Field(min_length=2, max_length=200)
    organisation_type: OrganisationType
    organisation_number: Annotated[OrganisationNumber | None, BeforeValidator(blank_is_none)] = Field(
        default=None, examples=["556036-0793"]
    )
    contact_name: PlainText = Field(min_length=2, max_length=200)
    contact_email: EmailStr
    contact_phone: Annotated[PhoneNumber | None, BeforeValidator(blank_is_none)] = Field(
        default=None, examples=["+46 70 123 45 67"]
    )


class GroupSize(Strict):
    min: int = Field(default=3, ge=2, le=12)
    max: int = Field(default=6, ge=2, le=12)

    @model_validator(mode="after")
    def min_not_above_max(self) -> GroupSize:
        if self.min > self.max:
            raise ValueError("min must not be greater than max")
        return self


class InitiativeCreate(Strict):
    title: PlainText = Field(min_length=5, max_length=200)
    summary: MultilineText = Field(min_length=1, max_length=500)
    description: MultilineText = Field(default="", max_length=10_000)
    originator: OriginatorIn
    themes: Annotated[list[Theme], AfterValidator(unique)] = Field(min_length=1)
    seeking: Annotated[list[Seeking], AfterValidator(unique)] = Field(min_length=1)
    competences_needed: Annotated[list[Competence], AfterValidator(unique)] = Field(default_factory=list)
    group_size: GroupSize = Field(default_factory=GroupSize)
    language: Language = Language.SV
    consent: Literal[True] = Field(
        description="Must be true: the originator agrees that the personal data is stored for this purpose."
    )

    def to_command(self, idempotency_key: str | None) -> SubmitInitiative:
        fingerprint = hashlib.sha256(json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()
        proposal = Proposal(
            title=self.title,
            summary=self.summary,
            description=self.description,
            originator=Originator(**self.originator.model_dump()),
            themes=tuple(self.themes),
            seeking=tuple(self.seeking),
            competences_needed=tuple(self.competences_needed),
            group_size_min=self.group_size.min,
            group_size_max=self.group_size.max,
            language=self.language,
        )
        return SubmitInitiative(proposal, idempotency_key, fingerprint)


class InitiativeReceipt(BaseModel):
    id: uuid.UUID
    reference: str
    status: Status
    submitted_at: datetime

    @classmethod
    def from_domain(cls, receipt: Receipt) -> Self:
        return cls.model_validate(receipt, from_attributes=True)


class HistoryEntry(BaseModel):
    at: datetime
    actor: str
    action: str
    from_status: Status | None
    to_status: Status
    note: str | None


class OriginatorOut(BaseModel):
    organisation_name: str
    organisation_type: OrganisationType
    organisation_number: str | None
    contact_name: str
    contact_email: str
    contact_phone: str | None


class InitiativeSummary(BaseModel):
    id: uuid.UUID
    reference: str
    status: Status
    title: str
    summary: str
    organisation_name: str
    organisation_type: OrganisationType
    themes: list[Theme]
    submitted_at: datetime
    updated_at: datetime | None

    @classmethod
    def from_domain(cls, initiative: Initiative, **more: Any) -> Self:
        """The initiative's fields and its originator's under the same names; `more` for the rest."""
        return cls.model_validate({**vars(initiative.originator), **vars(initiative), **more}, from_attributes=True)


class DuplicateHint(BaseModel):
    id: uuid.UUID
    reference: str
    title: str
    status: Status


class InitiativeDetail(InitiativeSummary):
    description: str
    originator: OriginatorOut
    seeking: list[Seeking]
    competences_needed: list[Competence]
    group_size: GroupSize
    language: Language
    history: list[HistoryEntry]
    possible_duplicates: list[DuplicateHint]

    @classmethod
    def from_details(cls, details: InitiativeDetails) -> Self:
        initiative = details.initiative
        return cls.from_domain(
            initiative,
            group_size=GroupSize(min=initiative.group_size_min, max=initiative.group_size_max),
            possible_duplicates=details.possible_duplicates,
        )


class OriginatorView(BaseModel):
    """What the originator sees through the private link."""

    reference: str
    status: Status
    title: str
    summary: str
    description: str
    submitted_at: datetime
    question: str | None = Field(description="the coordinator's message while information is requested")
    can_answer: bool
    can_withdraw: bool
    history: list[HistoryEntry]

    @classmethod
    def from_domain(cls, initiative: Initiative) -> Self:
        """Matching's steps are the platform's business, not shown to the originator."""
        return cls.model_validate(
            {
                **vars(initiative),
                "question": initiative.pending_question,
                "can_answer": initiative.can(Action.ANSWER),
                "can_withdraw": initiative.can(Action.WITHDRAW),
                "history": [c for c in initiative.history if not c.actor.startswith("matching")],
            },
            from_attributes=True,
        )


class Rejection(Strict):
    reason: MultilineText = Field(min_length=1, max_length=2000)

    def to_command(self, initiative_id: uuid.UUID, by: str) -> RejectInitiative:
        return RejectInitiative(initiative_id, by, self.reason)


class InformationRequest(Strict):
    message: MultilineText = Field(min_length=1, max_length=4000)

    def to_command(self, initiative_id: uuid.UUID, by: str) -> RequestInformation:
        return RequestInformation(initiative_id, by, self.message)


class Answer(Strict):
    answer: MultilineText = Field(min_length=1, max_length=4000)
    summary: MultilineText | None = Field(default=None, min_length=1, max_length=500)
    description: MultilineText | None = Field(default=None, max_length=10_000)

    def to_command(self, initiative_id: uuid.UUID) -> AnswerInformationRequest:
        return AnswerInformationRequest(initiative_id, self.answer, self.summary, self.description)


class Withdrawal(Strict):
    reason: MultilineText | None = Field(default=None, max_length=2000)

    def to_command(self, initiative_id: uuid.UUID, by: str) -> WithdrawInitiative:
        return WithdrawInitiative(initiative_id, by, self.reason)


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
) -> Filters:
    return Filters(tuple(status_ or ()), theme, organisation_type, submitted_from, submitted_to, q)


FiltersDep = Annotated[Filters, Depends(search_filters)]


STATUS_LABELS: dict[Status, tuple[str, str]] = {
    Status.SUBMITTED: ("Inskickat", "Submitted"),
    Status.INFO_REQUESTED: ("Komplettering efterfrågas", "More information requested"),
    Status.ACCEPTED: ("Antaget", "Accepted"),
    Status.REJECTED: ("Avslaget", "Rejected"),
    Status.WITHDRAWN: ("Tillbakadraget", "Withdrawn"),
    Status.GROUP_FORMING: ("Arbetsgrupp bildas", "Working group forming"),
    Status.GROUP_FORMED: ("Arbetsgrupp bildad", "Working group formed"),
    Status.CLOSED: ("Avslutat", "Closed"),
}
