"""Events of the resources family (produced by resources), keyed by resource_id."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from shared.contracts.envelope import Event
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


class ResourceRegistered(ResourceEvent):
    """A person is an active resource: confirmed their email, or registered by a coordinator."""

    profile: ResourceProfile
    profile_url: str  # private self-service link: update, pause, export, erase
    registered_by: str  # "self" or the coordinator's subject


class ResourceUpdated(ResourceEvent):
    """The profile or availability changed; `active` is false while the person has paused.

    Version 2 carries no private profile link (a key to read, change and erase the profile had no business on
    a topic every consumer reads; an update does not change it, and notifications keeps the one it mailed).
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


class ResourceProfileLinkRequested(ResourceEvent):
    """Someone registered an email that is already an active (or paused) resource.

    The public answer looks exactly like a new registration, so that it never tells whether an email is
    registered; this event lets notifications tell the owner instead: "you are already registered,
    here is your private profile link".
    """

    name: str
    email: str
    language: Language
    profile_url: str
