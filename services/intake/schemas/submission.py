"""The portal's submission: an initiative with its originator, validated as the portal sends it."""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, EmailStr, Field, model_validator

from services.intake.domain import Originator, Proposal
from services.intake.handlers import SubmitInitiative
from shared.taxonomy import Competence, Language, OrganisationType, Seeking, Theme
from shared.validation import MultilineText, OrganisationNumber, PhoneNumber, PlainText


def unique(values: list[Any]) -> list[Any]:
    return list(dict.fromkeys(values))


def blank_is_none(value: object) -> object:
    """Portal forms send an empty string for an optional field left empty."""
    return None if isinstance(value, str) and not value.strip() else value


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


ORIGINATOR_EXAMPLE: dict[str, Any] = {
    "organisation_name": "Acme Bygg AB",
    "organisation_type": OrganisationType.BUSINESS.value,
    "organisation_number": "556036-0793",
    "contact_name": "Anna Andersson",
    "contact_email": "anna.andersson@acme.example",
    "contact_phone": "+46 70 123 45 67",
}

SUBMISSION_EXAMPLE: dict[str, Any] = {
    "title": "Sommarjobb för unga i Rosengård",
    "summary": "Företag i Malmö erbjuder sommarjobb till unga i Rosengård, tillsammans med staden och skolorna.",
    "description": "Vi vill pröva en modell där näringslivet och staden ordnar sommarjobben tillsammans.\n\n"
    "Vi söker partner som kan handleda ungdomarna och hjälpa till med rekryteringen.",
    "originator": ORIGINATOR_EXAMPLE,
    "themes": [Theme.EMPLOYMENT.value, Theme.COMPETENCE_PROVISION.value],
    "seeking": [Seeking.COLLABORATION_PARTNERS.value, Seeking.COMPETENCES.value],
    "competences_needed": [Competence.RECRUITMENT.value, Competence.MENTORING.value],
    "group_size": {"min": 3, "max": 5},
    "language": Language.SV.value,
    "consent": True,
}


class OriginatorIn(Strict):
    """The organisation behind the initiative and the person Meet Malmö writes to."""

    model_config = ConfigDict(json_schema_extra={"examples": [ORIGINATOR_EXAMPLE]})

    organisation_name: PlainText = Field(
        min_length=2, max_length=200, description="The organisation's name as it should be shown, 2–200 characters."
    )
    organisation_type: OrganisationType = Field(
        description="What kind of organisation it is: a code of `organisation_types` in GET /api/v1/taxonomy."
    )
    organisation_number: Annotated[OrganisationNumber | None, BeforeValidator(blank_is_none)] = Field(
        default=None,
        description="The Swedish organisation number, with or without the hyphen (the check digit must be right); "
        "stored as NNNNNN-NNNN. Optional: leave it out or send an empty string. The same number on another open "
        "initiative is shown to coordinators as a possible duplicate.",
        examples=["556036-0793"],
    )
    contact_name: PlainText = Field(
        min_length=2, max_length=200, description="The contact person's full name, 2–200 characters."
    )
    contact_email: EmailStr = Field(
        description="The contact person's email: the receipt with the private status link, the coordinators' "
        "questions and their decision go here."
    )
    contact_phone: Annotated[PhoneNumber | None, BeforeValidator(blank_is_none)] = Field(
        default=None,
        description="Optional phone number for the coordinators; without a country code it is read as Swedish. "
        "Stored in E.164 (+46701234567). An empty string counts as none.",
        examples=["+46 70 123 45 67"],
    )


class GroupSize(Strict):
    """How many people the working group that matching proposes should have."""

    min: int = Field(default=3, ge=2, le=12, description="The fewest people the group needs, 2–12.")
    max: int = Field(default=6, ge=2, le=12, description="The most people the group takes, 2–12 and not below min.")

    @model_validator(mode="after")
    def min_not_above_max(self) -> GroupSize:
        if self.min > self.max:
            raise ValueError("min must not be greater than max")
        return self


class InitiativeCreate(Strict):
    """An initiative as the portal submits it. The codes come from GET /api/v1/taxonomy."""

    model_config = ConfigDict(json_schema_extra={"examples": [SUBMISSION_EXAMPLE]})

    title: PlainText = Field(
        min_length=5,
        max_length=200,
        description="The initiative's name, one line of 5–200 characters: what coordinators and the people "
        "matched to it see first.",
    )
    summary: MultilineText = Field(
        min_length=1,
        max_length=500,
        description="What the initiative wants to achieve, in a sentence or two (at most 500 characters): shown "
        "in lists and in the emails.",
    )
    description: MultilineText = Field(
        default="",
        max_length=10_000,
        description="The longer story: background, what is already in place, what help is needed (up to 10,000 "
        "characters, line breaks kept). May be left empty.",
    )
    originator: OriginatorIn = Field(description="Who stands behind the initiative and whom to contact.")
    themes: Annotated[list[Theme], AfterValidator(unique)] = Field(
        min_length=1, description="At least one code of the taxonomy's `themes`; a repeated code counts once."
    )
    seeking: Annotated[list[Seeking], AfterValidator(unique)] = Field(
        min_length=1, description="What the originator is looking for: at least one code of the taxonomy's `seeking`."
    )
    competences_needed: Annotated[list[Competence], AfterValidator(unique)] = Field(
        default_factory=list,
        description="Competences the working group should bring, codes of the taxonomy's `competences`: matching "
        "looks for people who have them. May be empty.",
    )
    group_size: GroupSize = Field(
        default_factory=GroupSize, description="How large the working group should be (3 to 6 when left out)."
    )
    language: Language = Field(
        default=Language.SV,
        description="The language the originator writes in and is written to: a code of the taxonomy's "
        "`languages` (`sv` when left out).",
    )
    consent: Literal[True] = Field(
        description="Must be true: the contact person agreed (a checkbox in the portal) that Meet Malmö stores "
        "these details to handle the initiative. Anything else is refused."
    )

    def to_command(self, idempotency_key: str | None, registered_by: str | None = None) -> SubmitInitiative:
        """The submission; `registered_by` a coordinator when it comes in on the originator's behalf."""
        fingerprint = ""  # only a retry with the same key compares it: a submission without one needs none
        if idempotency_key:
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
        return SubmitInitiative(proposal, idempotency_key, fingerprint, registered_by)
