"""Events of the initiatives family (produced by intake), keyed by initiative_id."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from shared.contracts.envelope import Event
from shared.contracts.topics import Topic
from shared.taxonomy import Competence, Language, OrganisationType, Seeking, Theme


class Originator(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    organisation_name: str
    organisation_type: OrganisationType
    organisation_number: str | None = None
    contact_name: str
    contact_email: str
    contact_phone: str | None = None


class InitiativeEvent(Event):
    """What every initiative event carries: a snapshot of the initiative after the change.

    Matching needs themes, competences, group size, language and the originator's organisation;
    notifications needs the reference, title, contact and language, and the originator's private
    status link.
    """

    abstract: ClassVar[bool] = True
    topic: ClassVar[Topic] = Topic.INITIATIVES
    key_field: ClassVar[str] = "initiative_id"

    initiative_id: uuid.UUID
    reference: str
    status: str
    title: str
    summary: str
    themes: tuple[Theme, ...]
    seeking: tuple[Seeking, ...]
    competences_needed: tuple[Competence, ...]
    group_size_min: int
    group_size_max: int
    language: Language
    originator: Originator
    status_url: str


class InitiativeSubmitted(InitiativeEvent):
    """An originator submitted an initiative through the portal, or a coordinator registered it on the
    originator's behalf after a personal meeting (`channel` meeting, `registered_by` the coordinator): the
    originator gets the receipt with the private link either way."""

    submitted_at: datetime
    channel: str = "portal"  # portal | meeting; added later, so events from before parse as portal
    registered_by: str | None = None


class InitiativeAccepted(InitiativeEvent):
    """A coordinator accepted the initiative: matching forms a group for it."""

    decided_by: str


class InitiativeRejected(InitiativeEvent):
    """A coordinator rejected the initiative, with a reason for the originator."""

    decided_by: str
    reason: str


class InitiativeInfoRequested(InitiativeEvent):
    """A coordinator asked the originator for more information."""

    decided_by: str
    message: str


class InitiativeUpdated(InitiativeEvent):
    """The originator answered an information request; the initiative is submitted again."""

    answer: str


class InitiativeWithdrawn(InitiativeEvent):
    """The originator (or a coordinator) withdrew the initiative; any group forming is dissolved."""

    withdrawn_by: str
    reason: str | None = None


class InitiativeClosed(InitiativeEvent):
    """A coordinator closed an initiative whose working group has done its work."""

    decided_by: str


class InitiativeLeadAssigned(InitiativeEvent):
    """A coordinator made someone the initiative's lead coordinator (`lead`), or nobody (`lead` None)."""

    lead: str | None
    assigned_by: str


class InitiativeStatusLinkRequested(InitiativeEvent):
    """The originator asked for a new status link (they gave the reference and their contact email): the
    `status_url` is the new link, every one sent before no longer works. Notifications emails it to the
    originator's contact."""

    requested_at: datetime


class InitiativeNoteAdded(InitiativeEvent):
    """A coordinator added a private note. The note itself stays in intake (staff-private): the event says
    only that one was added, by whom and when."""

    author: str
    added_at: datetime


class OriginatorErased(Event):
    """The initiative's contact person was erased (on request, or after the retention of a closed
    initiative): every service blanks its copy of their name, email and phone and never stores them again.
    The initiative goes on; only its id travels, nothing personal."""

    topic: ClassVar[Topic] = Topic.INITIATIVES
    key_field: ClassVar[str] = "initiative_id"

    initiative_id: uuid.UUID
