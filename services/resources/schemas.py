"""What the HTTP API accepts and answers. Each field is checked here with the domain's own rules."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, EmailStr, Field, StringConstraints

from services.resources.domain import (
    MAX_CAPACITY,
    MAX_HOURS_PER_MONTH,
    MAX_LANGUAGES,
    MAX_TAG_LENGTH,
    MAX_TAGS,
    MIN_CAPACITY,
    Profile,
    Resource,
    Status,
    normalise_email,
    normalise_language_code,
    normalise_sector,
    normalise_tags,
    unique,
)
from services.resources.handlers import RegisterResource, WithdrawResource
from shared.taxonomy import Competence, Language, OrganisationType, Theme
from shared.validation import OrganisationNumber, PhoneNumber, plain_text


def _blank_is_none(value: object) -> object:
    """Portal forms send an empty string for an optional field left empty."""
    return None if isinstance(value, str) and not value.strip() else value


Text = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), AfterValidator(plain_text)
]
Email = Annotated[EmailStr, AfterValidator(normalise_email)]
Sector = Annotated[str, StringConstraints(pattern=r"^[A-Ua-u]$"), AfterValidator(normalise_sector)]
Tag = Annotated[str, StringConstraints(max_length=MAX_TAG_LENGTH), AfterValidator(plain_text)]
LanguageCode = Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2}$"), AfterValidator(normalise_language_code)]
SearchText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200), AfterValidator(plain_text)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500), AfterValidator(plain_text)]


class ProfileIn(BaseModel):
    """A resource's profile, as a person or a coordinator writes it."""

    model_config = ConfigDict(extra="forbid")

    name: Text = Field(examples=["Anna Andersson"])
    email: Email = Field(examples=["anna.andersson@example.se"])
    phone: Annotated[PhoneNumber | None, BeforeValidator(_blank_is_none)] = Field(
        default=None, description="E.164, or a Swedish number (read as +46)", examples=["+46701234567"]
    )
    organisation_name: Text = Field(examples=["Andersson Bygg AB"])
    organisation_type: OrganisationType
    organisation_number: Annotated[OrganisationNumber | None, BeforeValidator(_blank_is_none)] = Field(
        default=None, description="Swedish organisation number, check digit verified", examples=["556036-0793"]
    )
    role_title: Text = Field(examples=["HR-chef"])
    sector: Annotated[Sector | None, BeforeValidator(_blank_is_none)] = Field(
        default=None, description="SNI 2007 section letter, A to U", examples=["F"]
    )
    competences: list[Competence] = Field(min_length=1, max_length=50, description="Codes from GET /api/v1/taxonomy")
    tags: list[Tag] = Field(default_factory=list, max_length=MAX_TAGS, description="Free keywords")
    themes: list[Theme] = Field(min_length=1, max_length=50, description="Codes from GET /api/v1/taxonomy")
    capacity: int = Field(
        default=MIN_CAPACITY, ge=MIN_CAPACITY, le=MAX_CAPACITY, description="Most working groups at the same time"
    )
    hours_per_month: int | None = Field(default=None, ge=1, le=MAX_HOURS_PER_MONTH)
    languages: list[LanguageCode] = Field(
        min_length=1, max_length=MAX_LANGUAGES, description="Languages spoken, ISO 639-1", examples=[["sv", "en"]]
    )
    language: Language = Field(default=Language.SV, description="The language emails are written in")

    def to_profile(self) -> Profile:
        return Profile(
            name=self.name,
            email=self.email,
            phone=self.phone,
            organisation_name=self.organisation_name,
            organisation_type=self.organisation_type,
            organisation_number=self.organisation_number,
            role_title=self.role_title,
            sector=self.sector,
            competences=unique(self.competences),
            tags=normalise_tags(self.tags),
            themes=unique(self.themes),
            capacity=self.capacity,
            hours_per_month=self.hours_per_month,
            languages=unique(self.languages),
            language=self.language,
        )


class RegistrationIn(ProfileIn):
    consent: Literal[True] = Field(
        description="The person agrees that Meet Malmö keeps this profile to invite them to working groups"
    )

    def to_command(self) -> RegisterResource:
        return RegisterResource(self.to_profile())


class RegistrationReceipt(BaseModel):
    """The same answer whether the email was new or not: it never tells who is registered."""

    id: uuid.UUID
    status: Literal["pending_confirmation"] = "pending_confirmation"


class Withdrawal(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason | None = None

    def to_command(self, resource_id: uuid.UUID) -> WithdrawResource:
        return WithdrawResource(resource_id, self.reason)


class ResourceView(BaseModel):
    id: uuid.UUID
    status: Status
    name: str
    email: str
    phone: str | None
    organisation_name: str
    organisation_type: OrganisationType
    organisation_number: str | None
    role_title: str
    sector: str | None
    competences: list[Competence]
    tags: list[str]
    themes: list[Theme]
    capacity: int
    hours_per_month: int | None
    languages: list[str]
    language: Language
    registered_by: str
    confirmed_at: datetime | None
    withdrawal_reason: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_domain(cls, resource: Resource) -> ResourceView:
        """The resource's own fields and its profile's, side by side."""
        return cls.model_validate({**asdict(resource), **asdict(resource.profile)})


class HeldEvent(BaseModel):
    """An event about the person still held in this service's outbox."""

    model_config = ConfigDict(extra="allow")

    event_id: uuid.UUID
    event_type: str
    occurred_at: datetime
    published_at: datetime | None
    payload: dict[str, object]


class DataExport(BaseModel):
    """Everything this service holds about the person."""

    resource: ResourceView
    events: list[HeldEvent]
    note: str = (
        "The registry keeps your profile and, for at most a week after they were sent, the messages it sent "
        "about you to the platform's other services."
    )

    @classmethod
    def from_domain(cls, resource: Resource, events: Iterable[dict[str, Any]]) -> DataExport:
        return cls(resource=ResourceView.from_domain(resource), events=[HeldEvent.model_validate(e) for e in events])
