"""What the HTTP API accepts and answers. Each field is checked here with the domain's own rules."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Query
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, EmailStr, Field, StringConstraints

from services.resources.domain import LinkState, Profile, Resource, SearchFilters, Status
from services.resources.domain import profile as rules
from services.resources.handlers import RegisterResource, RequestProfileLink, WithdrawResource
from shared.openapi import Problem
from shared.taxonomy import Competence, Language, OrganisationType, Theme
from shared.validation import OrganisationNumber, PhoneNumber, plain_text


def _blank_is_none(value: object) -> object:
    """Portal forms send an empty string for an optional field left empty."""
    return None if isinstance(value, str) and not value.strip() else value


Text = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), AfterValidator(plain_text)
]
Email = Annotated[EmailStr, AfterValidator(rules.normalise_email)]
Sector = Annotated[str, StringConstraints(pattern=r"^[A-Ua-u]$"), AfterValidator(rules.normalise_sector)]
Tag = Annotated[str, StringConstraints(max_length=rules.MAX_TAG_LENGTH), AfterValidator(plain_text)]
LanguageCode = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z]{2}$"), AfterValidator(rules.normalise_language_code)
]
SearchText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200), AfterValidator(plain_text)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500), AfterValidator(plain_text)]
TAXONOMY = "GET /api/v1/taxonomy"

# A municipality employee, as a coordinator registers one directly (POST /api/v1/resources/direct).
MUNICIPALITY_EMPLOYEE: dict[str, Any] = {
    "name": "Karin Lind",
    "email": "karin.lind@malmo.se",
    "phone": "040-34 10 00",
    "organisation_name": "Malmö stad, arbetsmarknadsförvaltningen",
    "organisation_type": "municipality",
    "organisation_number": "212000-1124",
    "role_title": "Arbetsmarknadskonsulent",
    "sector": "O",
    "competences": ["labour_market", "language_training"],
    "tags": ["nyanlända", "SFI"],
    "themes": ["establishment_of_new_arrivals", "employment"],
    "capacity": 3,
    "hours_per_month": 10,
    "languages": ["sv", "en", "ar"],
    "language": "sv",
}
# A person from a company, as they register themselves on the portal (POST /api/v1/resources).
SELF_REGISTRATION: dict[str, Any] = {
    "name": "Anna Andersson",
    "email": "anna.andersson@example.se",
    "phone": "+46701234567",
    "organisation_name": "Andersson Bygg AB",
    "organisation_type": "business",
    "organisation_number": "556036-0793",
    "role_title": "HR-chef",
    "sector": "F",
    "competences": ["recruitment", "mentoring"],
    "tags": ["lärlingar"],
    "themes": ["competence_provision"],
    "capacity": 2,
    "hours_per_month": 6,
    "languages": ["sv", "en"],
    "language": "sv",
    "consent": True,
}


def search_filters(
    competence: Annotated[list[Competence] | None, Query(description="Has any of these competences")] = None,
    theme: Annotated[list[Theme] | None, Query(description="Has any of these themes")] = None,
    organisation_type: Annotated[list[OrganisationType] | None, Query(description="Of any of these kinds")] = None,
    language: Annotated[list[LanguageCode] | None, Query(description="Speaks any of these (ISO 639-1)")] = None,
    status: Annotated[list[Status] | None, Query(description="In any of these statuses (default: all)")] = None,
    min_capacity: Annotated[
        int | None,
        Query(
            ge=1,
            le=5,
            description=(
                "Free capacity, read as: can be in at least this many working groups at once. The registry does "
                "not know how many groups a person is in now; matching subtracts the current load."
            ),
        ),
    ] = None,
    q: Annotated[SearchText | None, Query(description="Free text: name, email, organisation, role, tags")] = None,
) -> SearchFilters:
    """The staff search's query parameters, as the domain's filters."""
    return SearchFilters(
        competences=tuple(competence or ()),
        themes=tuple(theme or ()),
        organisation_types=tuple(organisation_type or ()),
        languages=tuple(language or ()),
        statuses=tuple(status or ()),
        min_capacity=min_capacity,
        text=q or None,
    )


class ProfileIn(BaseModel):
    """A resource's profile, as a person or a coordinator writes it: the whole profile, every time."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [MUNICIPALITY_EMPLOYEE]})

    name: Text = Field(description="The person's full name, as coordinators and emails address them")
    email: Email = Field(
        description="The person's own work address: links and invitations go here. One resource per address "
        "(not case-sensitive)"
    )
    phone: Annotated[PhoneNumber | None, BeforeValidator(_blank_is_none)] = Field(
        default=None,
        description="Optional. E.164, or a Swedish number (read as +46); empty means none",
        examples=["+46701234567", "040-34 10 00"],
    )
    organisation_name: Text = Field(description="The organisation the person takes part for (company, authority)")
    organisation_type: OrganisationType = Field(description=f"Its kind: an organisation_types code from {TAXONOMY}")
    organisation_number: Annotated[OrganisationNumber | None, BeforeValidator(_blank_is_none)] = Field(
        default=None,
        description="Optional. The organisation's Swedish organisation number, with or without the dash; the "
        "check digit is verified",
        examples=["556036-0793"],
    )
    role_title: Text = Field(description="The person's role or title in the organisation")
    sector: Annotated[Sector | None, BeforeValidator(_blank_is_none)] = Field(
        default=None,
        description="Optional. The organisation's industry: an SNI 2007 section letter, A to U",
        examples=["F"],
    )
    competences: list[Competence] = Field(
        min_length=1, max_length=50, description=f"What the person can offer: competences codes from {TAXONOMY}"
    )
    tags: list[Tag] = Field(
        default_factory=list,
        max_length=rules.MAX_TAGS,
        description=f"Optional free keywords the taxonomy lacks, each at most {rules.MAX_TAG_LENGTH} characters; "
        "repeats that differ only in case are dropped",
    )
    themes: list[Theme] = Field(
        min_length=1, max_length=50, description=f"What the person wants to work on: themes codes from {TAXONOMY}"
    )
    capacity: int = Field(
        default=rules.MIN_CAPACITY,
        ge=rules.MIN_CAPACITY,
        le=rules.MAX_CAPACITY,
        description="In how many working groups the person can take part at the same time",
    )
    hours_per_month: int | None = Field(
        default=None, ge=1, le=rules.MAX_HOURS_PER_MONTH, description="Optional. The hours a month they can give"
    )
    languages: list[LanguageCode] = Field(
        min_length=1,
        max_length=rules.MAX_LANGUAGES,
        description="Languages the person can work in, ISO 639-1",
        examples=[["sv", "en"]],
    )
    language: Language = Field(default=Language.SV, description="The language of the emails to the person")

    def to_profile(self) -> Profile:
        """The domain's profile: the lists without repeats, tags also without repeats in another case."""
        lists = {"competences", "tags", "themes", "languages"}
        values = {name: getattr(self, name) for name in ProfileIn.model_fields if name not in lists}
        return Profile(
            **values,
            competences=rules.unique(self.competences),
            tags=rules.normalise_tags(self.tags),
            themes=rules.unique(self.themes),
            languages=rules.unique(self.languages),
        )


class RegistrationIn(ProfileIn):
    """A person registers themselves on the portal: their profile and their consent."""

    model_config = ConfigDict(json_schema_extra={"examples": [SELF_REGISTRATION]})

    consent: Literal[True] = Field(
        description="true only when the person ticked that Meet Malmö may keep this profile to invite them to "
        "working groups; anything else is refused"
    )

    def to_command(self) -> RegisterResource:
        return RegisterResource(self.to_profile())


class ProfileLinkRequest(BaseModel):
    """The address a person registered with, to get a new profile link (theirs expired)."""

    email: Email

    def to_command(self) -> RequestProfileLink:
        return RequestProfileLink(str(self.email))


class ProfileLinkRequested(BaseModel):
    """The same answer for every address: it never tells who is registered."""

    detail: Literal["if this address is registered, its profile link is on its way"] = (
        "if this address is registered, its profile link is on its way"
    )


class RegistrationReceipt(BaseModel):
    """The same answer whether the email was new or not: it never tells who is registered."""

    id: uuid.UUID = Field(description="The registration's id; the portal needs it for nothing but a reference")
    status: Literal["pending_confirmation"] = Field(
        default="pending_confirmation", description="Always this: the next step is the link in the email"
    )


class EmailTaken(Problem):
    """409: another resource has this email; nothing was stored."""

    resource_id: uuid.UUID | None = Field(
        default=None, description="That resource, so that a coordinator can open it (staff routes only)"
    )


class Withdrawal(BaseModel):
    """Leaving the pool, optionally with a reason; the whole body may be left out."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"reason": "Ingen tid i år"}]})

    reason: Reason | None = Field(
        default=None,
        description="Why, in the person's or the coordinator's words; kept with the profile and passed on to the "
        "other services",
    )

    def to_command(self, resource_id: uuid.UUID) -> WithdrawResource:
        return WithdrawResource(resource_id, self.reason)


class ResourceView(BaseModel):
    """A resource: its profile (as in ProfileIn, normalised) and where it stands."""

    id: uuid.UUID
    status: Status = Field(
        description="pending_confirmation until the email is confirmed; active (invited to groups), paused or "
        "withdrawn (left the pool, kept until erased)"
    )
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
    registered_by: str = Field(description="self, or the email of the coordinator who registered the person")
    confirmed_at: datetime | None = Field(description="When the email was confirmed (or the direct registration)")
    withdrawal_reason: str | None = Field(description="The reason given on leaving the pool, if any")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_domain(cls, resource: Resource) -> ResourceView:
        """The resource's own fields and its profile's, side by side."""
        return cls.model_validate({**asdict(resource), **asdict(resource.profile)})


class Confirmation(BaseModel):
    """What a confirmation link shows: whose registration it confirms, and whether it still can."""

    state: Literal[LinkState.AWAITING_CONFIRMATION, LinkState.ALREADY_CONFIRMED] = Field(
        description="awaiting_confirmation: the POST confirms; already_confirmed: nothing more to do"
    )
    just_confirmed: bool = Field(default=False, description="True only in the answer of the POST that confirmed")
    profile_token: str | None = Field(
        default=None,
        description="With just_confirmed: the token of the person's private profile link (also emailed to them), "
        "for `/api/v1/my/profile/{token}`",
    )
    name: str
    email: str
    organisation_name: str
    role_title: str
    language: Language

    @classmethod
    def from_domain(cls, resource: Resource, state: LinkState, profile_token: str | None = None) -> Confirmation:
        p = resource.profile
        return cls(
            state=state,  # type: ignore[arg-type]  # the route answers the other states with 410
            just_confirmed=profile_token is not None,
            profile_token=profile_token,
            name=p.name,
            email=p.email,
            organisation_name=p.organisation_name,
            role_title=p.role_title,
            language=p.language,
        )


class ConfirmationGone(Problem):
    """410: the confirmation link can no longer confirm; registering again sends a new one."""

    state: Literal[LinkState.EXPIRED, LinkState.REPLACED] = Field(
        description="expired: older than 7 days; replaced: a newer link was sent, only the latest confirms"
    )


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
