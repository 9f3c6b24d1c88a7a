"""Events of the working-group family (produced by matching), keyed by group_id."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from shared.contracts.envelope import Event
from shared.contracts.topics import Topic
from shared.taxonomy import Language


class GroupMember(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    resource_id: uuid.UUID | None = None  # None for the originator's contact
    role: str  # originator_contact | municipality_representative | resource
    name: str
    email: str
    phone: str | None = None
    organisation_name: str
    language: Language = Language.SV
    explanation: str = ""  # why matching chose this person (for coordinators and the invitation)


class GroupEvent(Event):
    abstract: ClassVar[bool] = True
    topic: ClassVar[Topic] = Topic.GROUPS
    key_field: ClassVar[str] = "group_id"

    group_id: uuid.UUID
    initiative_id: uuid.UUID
    initiative_reference: str
    initiative_title: str


class GroupProposed(GroupEvent):
    """Matching proposed a working group for an accepted initiative; a coordinator confirms it."""

    members: tuple[GroupMember, ...]
    uncovered_competences: tuple[str, ...] = ()
    review_url: str  # the coordinator's view of the proposal


class GroupConfirmed(GroupEvent):
    """A coordinator confirmed the proposal; invitations go out."""

    members: tuple[GroupMember, ...]
    confirmed_by: str


class MemberInvited(GroupEvent):
    """One seat's invitation, with one-time accept and decline links (a GET only shows a page)."""

    member: GroupMember
    initiative_summary: str
    accept_url: str
    decline_url: str
    expires_at: datetime


class MemberAccepted(GroupEvent):
    member: GroupMember


class MemberDeclined(GroupEvent):
    """A member declined (or the invitation expired, or the person left the pool)."""

    member: GroupMember
    reason: str  # declined | expired | withdrawn | erased


class MemberReplaced(GroupEvent):
    """A declined seat went to the best replacement, who is invited in turn."""

    previous: GroupMember
    replacement: GroupMember


class GroupFormed(GroupEvent):
    """Every seat is accepted: the working group is formed and the work launched."""

    members: tuple[GroupMember, ...]  # includes the originator's contact


class GroupDissolved(GroupEvent):
    """The group will not form or is ended (e.g. the initiative was withdrawn)."""

    reason: str


class GroupFormationBlocked(Event):
    """No working group can be proposed for an accepted initiative yet: coordinators are told once what
    is missing. Matching tries again as soon as someone becomes available (and on its sweep)."""

    topic: ClassVar[Topic] = Topic.GROUPS
    key_field: ClassVar[str] = "initiative_id"

    initiative_id: uuid.UUID
    initiative_reference: str
    initiative_title: str
    missing: tuple[str, ...]  # municipality_representative | people | competences
    people_needed: int  # the group's minimum size
    people_free: int  # people who could take part (confirmed, below capacity, not the originator's organisation)
    missing_competences: tuple[str, ...] = ()  # needed competences nobody free brings
    review_url: str  # the coordinator's view of the initiative in matching
