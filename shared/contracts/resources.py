"""Events of the resources family (produced by resources), keyed by resource_id."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, model_validator

from shared.contracts.envelope import Event
from shared.contracts.links import version_in_profile_url
from shared.contracts.topics import Topic
from shared.taxonomy import Competence, Language, OrganisationType, Theme


class ResourceProfile(BaseModel):
    """What matching needs to place a person, and what notifications needs to address them."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    name: str
    email: str
    phone: str | None = None
    language: Language  # the language emails to this person are written in
    organisation_name: str
    organisation_type: OrganisationType
    organisation_number: str | None = None
    role_title: str
    sector: str | None = None
    competences: tuple[Competence, ...]
    tags: tuple[str, ...] = ()
    themes: tuple[Theme, ...]
    capacity: int
    hours_per_month: int | None = None
    languages: tuple[str, ...]


class ResourceEvent(Event):
    abstract: ClassVar[bool] = True
    topic: ClassVar[Topic] = Topic.RESOURCES
    key_field: ClassVar[str] = "resource_id"

    resource_id: uuid.UUID


class ResourceConfirmationRequested(ResourceEvent):
    """A person registered (or registered again): send them the one-time confirmation link."""

    name: str
    email: str
    language: Language
    confirm_url: str
    expires_at: datetime


class ProfileLinkVersioned(ResourceEvent):
    """An event that hands the person their private profile link (update, pause, export, erase).

    Version 2 names the link's version (`profile_link_version`), never the link: notifications signs it with the
    shared MEETMALMO_PROFILE_LINK_SECRET just before the email goes (shared.contracts.links), so no topic and no
    stored email holds a key to someone's profile. Version 1 events still parse: they carried the link itself
    (`profile_url`), whose token names the version it was issued at."""

    abstract: ClassVar[bool] = True
    schema_version: ClassVar[int] = 2

    profile_link_version: int
    profile_url: str | None = None  # version 1 only; never read for the link (its version is taken from it)

    @model_validator(mode="before")
    @classmethod
    def _version_of_a_version_1_link(cls, data: Any) -> Any:
        if isinstance(data, dict) and "profile_link_version" not in data and data.get("profile_url"):
            return {**data, "profile_link_version": version_in_profile_url(str(data["profile_url"]))}
        return data


class ResourceRegistered(ProfileLinkVersioned):
    """A person is an active resource: confirmed their email, or registered by a coordinator."""

    profile: ResourceProfile
    registered_by: str  # "self" or the coordinator's subject


class ResourceUpdated(ResourceEvent):
    """The profile or availability changed; `active` is false while the person has paused.

    Version 2 carries no private profile link (a key to read, change and erase the profile had no business on
    a topic every consumer reads; an update does not change it, and notifications keeps the version it mailed).
    Version 1 events still parse, with their link."""

    schema_version: ClassVar[int] = 2

    profile: ResourceProfile
    profile_url: str | None = None  # version 1 only
    active: bool


class ResourceWithdrawn(ResourceEvent):
    """The person left the pool (or a coordinator deactivated them); they get no new invitations."""

    reason: str | None = None


class ResourceErased(ResourceEvent):
    """The person asked to be erased: every service deletes its copy of their personal data."""


class ProfileLinkReason(StrEnum):
    """Why the owner gets their profile link again: what the email tells them happened."""

    REGISTERED_AGAIN = "registered_again"  # someone registered an address that is already a resource
    ASKED = "asked"  # someone asked for the link by email (the public "send me my link" form)
    RENEWED = "renewed"  # the owner asked for a fresh link on their profile page; the old one no longer works


class ResourceProfileLinkRequested(ProfileLinkVersioned):
    """The owner of an active (or paused) resource gets their private profile link by email, for `reason`.

    A registration of an address that is already registered answers exactly like a new registration, so that it
    never tells whether an email is registered; this event lets notifications tell the owner instead. Events
    written before `reason` existed were all "registered again" (and the email said so for every case)."""

    name: str
    email: str
    language: Language
    reason: ProfileLinkReason = ProfileLinkReason.REGISTERED_AGAIN
