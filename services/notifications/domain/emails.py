"""Who gets which email about an event: one planned email per recipient and template. No I/O.

Coordinators write and read Swedish; originators get the initiative's language; resources and
members get their own. Links are absolute URLs carried in the event; a coordinator's alert links to
the staff console in the web (MEETMALMO_WEB_PUBLIC_URL) where they act on it. A resource's private
profile link is no URL here: the event (or the version kept from the last one) names its version, the text
holds PROFILE_LINK, and the sender signs the link in just before the email goes (see deliveries).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from services.notifications.domain.deliveries import PROFILE_LINK, RecipientRole
from shared.contracts import Event
from shared.contracts.groups import (
    GroupEvent,
    GroupFormationBlocked,
    GroupFormed,
    GroupMember,
    GroupProposed,
    MemberInvited,
    MemberReplaced,
)
from shared.contracts.initiatives import (
    InitiativeAccepted,
    InitiativeEvent,
    InitiativeInfoRequested,
    InitiativeRejected,
    InitiativeStatusLinkRequested,
    InitiativeSubmitted,
    InitiativeUpdated,
)
from shared.contracts.resources import ResourceConfirmationRequested, ResourceProfileLinkRequested, ResourceRegistered
from shared.errors import DomainError
from shared.taxonomy import Language

COORDINATOR_LANGUAGE = Language.SV
ORIGINATOR_CONTACT = "originator_contact"


class Template(StrEnum):
    COORDINATOR_INITIATIVE_SUBMITTED = "coordinator_initiative_submitted"
    COORDINATOR_INITIATIVE_UPDATED = "coordinator_initiative_updated"
    COORDINATOR_GROUP_PROPOSED = "coordinator_group_proposed"
    COORDINATOR_MEMBER_REPLACED = "coordinator_member_replaced"
    COORDINATOR_GROUP_FORMED = "coordinator_group_formed"
    COORDINATOR_FORMATION_BLOCKED = "coordinator_formation_blocked"  # no group can be proposed yet: what is missing
    ORIGINATOR_RECEIPT = "originator_receipt"
    ORIGINATOR_ACCEPTED = "originator_accepted"
    ORIGINATOR_REJECTED = "originator_rejected"
    ORIGINATOR_INFO_REQUESTED = "originator_info_requested"
    ORIGINATOR_STATUS_LINK = "originator_status_link"  # a new status link, asked for with reference and email
    RESOURCE_CONFIRMATION = "resource_confirmation"
    RESOURCE_WELCOME = "resource_welcome"
    RESOURCE_PROFILE_LINK = "resource_profile_link"  # registered again, asked for it, or renewed it
    MEMBER_INVITATION = "member_invitation"
    GROUP_FORMED = "group_formed"  # to every member and the originator's contact
    COORDINATOR_DIGEST = "coordinator_digest"  # the day's held alerts, for a coordinator who chose a digest


class NotAnAbsoluteUrl(DomainError):
    """An event carried a link an email cannot use (relative, or not http/https)."""


@dataclass(frozen=True)
class PlannedEmail:
    template: Template
    recipient: str
    role: RecipientRole
    language: Language
    context: Mapping[str, Any]
    resource_id: uuid.UUID | None = None
    initiative_id: uuid.UUID | None = None
    # Resources whose personal data the text shows (erased with them).
    mentions: frozenset[uuid.UUID] = field(default_factory=frozenset)
    # The text holds PROFILE_LINK: the link of `resource_id` at this version goes there when it is sent.
    profile_link_version: int | None = None


def absolute(url: str) -> str:
    """The link itself, if an email can carry it: absolute http(s) with a host."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise NotAnAbsoluteUrl(f"links in emails must be absolute http(s) URLs, got {url[:80]!r}")
    return url


def resources_to_look_up(event: Event) -> set[uuid.UUID]:
    """Resources whose private profile link belongs in the footer of the emails this event causes."""
    if isinstance(event, MemberInvited):
        return {event.member.resource_id} if event.member.resource_id else set()
    if isinstance(event, GroupFormed):
        return {m.resource_id for m in event.members if m.resource_id}
    return set()


def console_link(event: InitiativeEvent | GroupEvent | GroupFormationBlocked, web_url: str) -> str:
    """Where a coordinator acts on an alert: the view the event carries (a proposal's, a blockage's), else
    the console's page of the group or of the initiative."""
    match event:
        case GroupProposed() | GroupFormationBlocked():
            return absolute(event.review_url)
        case GroupEvent():
            return absolute(f"{web_url.rstrip('/')}/staff/groups/{event.group_id}")
        case _:
            return absolute(f"{web_url.rstrip('/')}/staff/initiatives/{event.initiative_id}")


def plan_emails(
    event: Event, coordinators: Sequence[str], profile_links: Mapping[uuid.UUID, int], web_url: str
) -> list[PlannedEmail]:
    """Every email `event` causes, each recipient once per template; `web_url` is the web's public URL,
    `profile_links` the profile link version of each resource whose footer shows their link."""
    planned: list[PlannedEmail] = []
    match event:
        case InitiativeSubmitted():
            planned += _to_originator(event, Template.ORIGINATOR_RECEIPT)
            planned += _to_coordinators(event, coordinators, web_url, Template.COORDINATOR_INITIATIVE_SUBMITTED)
        case InitiativeUpdated():
            planned += _to_coordinators(event, coordinators, web_url, Template.COORDINATOR_INITIATIVE_UPDATED)
        case InitiativeAccepted():
            planned += _to_originator(event, Template.ORIGINATOR_ACCEPTED)
        case InitiativeRejected():
            planned += _to_originator(event, Template.ORIGINATOR_REJECTED)
        case InitiativeInfoRequested():
            planned += _to_originator(event, Template.ORIGINATOR_INFO_REQUESTED)
        case InitiativeStatusLinkRequested():
            planned += _to_originator(event, Template.ORIGINATOR_STATUS_LINK)
        case ResourceConfirmationRequested():
            context = {"name": event.name, "confirm_url": absolute(event.confirm_url), "expires_at": event.expires_at}
            planned.append(
                PlannedEmail(
                    Template.RESOURCE_CONFIRMATION,
                    event.email,
                    RecipientRole.RESOURCE,
                    event.language,
                    context,
                    resource_id=event.resource_id,
                )
            )
        case ResourceRegistered():
            context = {"name": event.profile.name, "profile_url": PROFILE_LINK}
            profile = event.profile
            planned.append(
                _to_resource(
                    event.resource_id,
                    profile.email,
                    profile.language,
                    Template.RESOURCE_WELCOME,
                    context,
                    event.profile_link_version,
                )
            )
        case ResourceProfileLinkRequested():
            context = {"name": event.name, "profile_url": PROFILE_LINK, "reason": event.reason.value}
            planned.append(
                _to_resource(
                    event.resource_id,
                    event.email,
                    event.language,
                    Template.RESOURCE_PROFILE_LINK,
                    context,
                    event.profile_link_version,
                )
            )
        case GroupProposed():
            proposed = event.members
            planned += _to_coordinators(event, coordinators, web_url, Template.COORDINATOR_GROUP_PROPOSED, proposed)
        case MemberReplaced():
            members = (event.previous, event.replacement)
            planned += _to_coordinators(event, coordinators, web_url, Template.COORDINATOR_MEMBER_REPLACED, members)
        case MemberInvited():
            planned.append(_invitation(event, profile_links))
        case GroupFormed():
            planned += _to_coordinators(event, coordinators, web_url, Template.COORDINATOR_GROUP_FORMED, event.members)
            planned += _group_formed_to_members(event, profile_links)
        case GroupFormationBlocked():
            planned += _to_coordinators(event, coordinators, web_url, Template.COORDINATOR_FORMATION_BLOCKED)
    return _once_each(planned)


def _to_originator(event: InitiativeEvent, template: Template) -> list[PlannedEmail]:
    absolute(event.status_url)
    return [
        PlannedEmail(
            template,
            event.originator.contact_email,
            RecipientRole.ORIGINATOR,
            event.language,
            {"initiative": event},
            initiative_id=event.initiative_id,
        )
    ]


def _to_coordinators(
    event: InitiativeEvent | GroupEvent | GroupFormationBlocked,
    coordinators: Sequence[str],
    web_url: str,
    template: Template,
    members: Sequence[GroupMember] = (),
) -> list[PlannedEmail]:
    """An alert to each coordinator, linking to the console; a group's names the `members` whose personal
    data it shows."""
    context: dict[str, Any]
    match event:
        case GroupEvent():
            context = {"group": event}
        case GroupFormationBlocked():
            context = {"blocked": event, "people_short": max(event.people_needed - event.people_free, 0)}
        case _:
            context = {"initiative": event}
    context["review_url"] = console_link(event, web_url)
    return [
        PlannedEmail(
            template,
            address,
            RecipientRole.COORDINATOR,
            COORDINATOR_LANGUAGE,
            context,
            initiative_id=event.initiative_id,
            mentions=_mentioned(members),
        )
        for address in coordinators
    ]


def _to_resource(
    resource_id: uuid.UUID,
    email: str,
    language: Language,
    template: Template,
    context: Mapping[str, Any],
    profile_link_version: int,
) -> PlannedEmail:
    return PlannedEmail(
        template,
        email,
        RecipientRole.RESOURCE,
        language,
        context,
        resource_id=resource_id,
        profile_link_version=profile_link_version,
    )


def _mentioned(members: Iterable[GroupMember]) -> frozenset[uuid.UUID]:
    return frozenset(m.resource_id for m in members if m.resource_id)


def _invitation(event: MemberInvited, profile_links: Mapping[uuid.UUID, int]) -> PlannedEmail:
    member = event.member
    version = _profile_link_version(member, profile_links)
    context = {
        "invitation": event,
        "member": member,
        "accept_url": absolute(event.accept_url),
        "decline_url": absolute(event.decline_url),
        "profile_url": PROFILE_LINK if version is not None else None,
    }
    return PlannedEmail(
        Template.MEMBER_INVITATION,
        member.email,
        RecipientRole.RESOURCE,
        member.language,
        context,
        resource_id=member.resource_id,
        initiative_id=event.initiative_id,
        profile_link_version=version,
    )


def _group_formed_to_members(event: GroupFormed, profile_links: Mapping[uuid.UUID, int]) -> list[PlannedEmail]:
    mentions = _mentioned(event.members)
    planned = []
    for member in event.members:
        version = _profile_link_version(member, profile_links)
        context = {
            "group": event,
            "recipient": member,
            "others": [other for other in event.members if other is not member],
            "profile_url": PROFILE_LINK if version is not None else None,
        }
        planned.append(
            PlannedEmail(
                Template.GROUP_FORMED,
                member.email,
                RecipientRole.ORIGINATOR if member.role == ORIGINATOR_CONTACT else RecipientRole.RESOURCE,
                member.language,
                context,
                resource_id=member.resource_id,
                initiative_id=event.initiative_id,
                mentions=mentions,
                profile_link_version=version,
            )
        )
    return planned


def _profile_link_version(member: GroupMember, profile_links: Mapping[uuid.UUID, int]) -> int | None:
    """The version of the member's profile link for their footer; None (no footer) when none is known."""
    return profile_links.get(member.resource_id) if member.resource_id else None


def _once_each(planned: Iterable[PlannedEmail]) -> list[PlannedEmail]:
    seen: set[tuple[Template, str]] = set()
    unique = []
    for email in planned:
        key = (email.template, email.recipient.strip().lower())
        if key not in seen:
            seen.add(key)
            unique.append(email)
    return unique
