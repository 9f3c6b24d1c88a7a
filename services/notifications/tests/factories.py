"""Sample events as the other services publish them, with absolute links of their own."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.contracts import groups, initiatives, resources
from shared.contracts.links import profile_url
from shared.taxonomy import Competence, Language, OrganisationType, Seeking, Theme

COORDINATORS = ("eva.coordinator@malmo.se", "olle.coordinator@malmo.se")
ORIGINATOR = "karin.lind@example.org"  # the contact of every sample initiative
INTAKE = "http://127.0.0.1:8001"
RESOURCES = "http://127.0.0.1:8002"
MATCHING = "http://127.0.0.1:8003"
WEB = "http://127.0.0.1:8000"  # MEETMALMO_WEB_PUBLIC_URL: the staff console's pages
NOW = datetime(2026, 11, 27, 13, 0, tzinfo=UTC)


def initiative_fields(language: Language = Language.SV, **changes: Any) -> dict[str, Any]:
    initiative_id = changes.pop("initiative_id", uuid.uuid4())
    fields: dict[str, Any] = {
        "initiative_id": initiative_id,
        "reference": "MM-2026-0042",
        "status": "submitted",
        "title": "Sommarjobb för unga i Sofielund",
        "summary": "Fastighetsägare och staden erbjuder sommarjobb <tillsammans> & följer upp.",
        "themes": (Theme.EMPLOYMENT, Theme.URBAN_DEVELOPMENT),
        "seeking": (Seeking.COLLABORATION_PARTNERS,),
        "competences_needed": (Competence.PROJECT_MANAGEMENT,),
        "group_size_min": 3,
        "group_size_max": 6,
        "language": language,
        "originator": initiatives.Originator(
            organisation_name="Sofielunds Fastighetsägare",
            organisation_type=OrganisationType.BUSINESS,
            contact_name="Karin Lind",
            contact_email=ORIGINATOR,
            contact_phone="+46 70 123 45 67",
        ),
        "status_url": f"{INTAKE}/status/{initiative_id}?token=abc.def",
    }
    return {**fields, **changes}


def submitted(language: Language = Language.SV, **changes: Any) -> initiatives.InitiativeSubmitted:
    return initiatives.InitiativeSubmitted(**initiative_fields(language, **changes), submitted_at=NOW)


def accepted(language: Language = Language.SV, **changes: Any) -> initiatives.InitiativeAccepted:
    return initiatives.InitiativeAccepted(**initiative_fields(language, status="accepted", **changes), decided_by="eva")


def rejected(language: Language = Language.SV) -> initiatives.InitiativeRejected:
    return initiatives.InitiativeRejected(
        **initiative_fields(language, status="rejected"), decided_by="eva", reason="Ligger utanför <uppdraget>."
    )


def info_requested(language: Language = Language.SV, **changes: Any) -> initiatives.InitiativeInfoRequested:
    return initiatives.InitiativeInfoRequested(
        **initiative_fields(language, status="info_requested", **changes),
        decided_by="eva",
        message="Hur många ungdomar?",
    )


def status_link_requested(
    language: Language = Language.SV, **changes: Any
) -> initiatives.InitiativeStatusLinkRequested:
    return initiatives.InitiativeStatusLinkRequested(**initiative_fields(language, **changes), requested_at=NOW)


def updated(language: Language = Language.SV) -> initiatives.InitiativeUpdated:
    return initiatives.InitiativeUpdated(**initiative_fields(language), answer="Ungefär 40 ungdomar.")


def withdrawn(initiative_id: uuid.UUID) -> initiatives.InitiativeWithdrawn:
    return initiatives.InitiativeWithdrawn(
        **initiative_fields(initiative_id=initiative_id, status="withdrawn"), withdrawn_by="originator"
    )


def ali(language: Language = Language.SV) -> dict[str, Any]:
    """The person a resources event is about and writes to, with a fresh id."""
    return {"resource_id": uuid.uuid4(), "name": "Ali Hassan", "email": "ali.hassan@example.org", "language": language}


def confirmation_requested(language: Language = Language.SV) -> resources.ResourceConfirmationRequested:
    person = ali(language)
    return resources.ResourceConfirmationRequested(
        **person,
        confirm_url=f"{RESOURCES}/confirm/{person['resource_id']}?token=xyz",
        expires_at=NOW + timedelta(days=2),
    )


def profile(language: Language = Language.SV, email: str = "ali.hassan@example.org") -> resources.ResourceProfile:
    return resources.ResourceProfile(
        name="Ali Hassan",
        email=email,
        language=language,
        organisation_name="Hassan Bygg AB",
        organisation_type=OrganisationType.BUSINESS,
        role_title="VD",
        competences=(Competence.PROJECT_MANAGEMENT,),
        themes=(Theme.EMPLOYMENT,),
        capacity=2,
        languages=("sv", "ar"),
    )


def registered(
    language: Language = Language.SV, resource_id: uuid.UUID | None = None, email: str = "ali.hassan@example.org"
) -> resources.ResourceRegistered:
    resource_id = resource_id or uuid.uuid4()
    return resources.ResourceRegistered(
        resource_id=resource_id,
        profile=profile(language, email),
        profile_link_version=0,
        registered_by="self",
    )


def resource_updated(resource_id: uuid.UUID, active: bool = True) -> resources.ResourceUpdated:
    return resources.ResourceUpdated(
        resource_id=resource_id,
        profile=profile(),
        profile_url=profile_url(WEB, "a-key-resources-signed-with-in-version-1", resource_id, 3),  # version 1
        active=active,
    )


def profile_link_requested(
    language: Language = Language.SV,
    reason: resources.ProfileLinkReason = resources.ProfileLinkReason.REGISTERED_AGAIN,
) -> resources.ResourceProfileLinkRequested:
    person = ali(language)
    return resources.ResourceProfileLinkRequested(**person, profile_link_version=1, reason=reason)


def erased(resource_id: uuid.UUID) -> resources.ResourceErased:
    return resources.ResourceErased(resource_id=resource_id)


def member(
    name: str,
    email: str,
    role: str = "resource",
    language: Language = Language.SV,
    resource_id: uuid.UUID | None = None,
) -> groups.GroupMember:
    return groups.GroupMember(
        resource_id=None if role == "originator_contact" else (resource_id or uuid.uuid4()),
        role=role,
        name=name,
        email=email,
        phone="+46 40 34 10 00",
        organisation_name=f"{name.split()[0]} AB",
        language=language,
        explanation=f"{name.split()[0]} kan projektledning & <bygg>.",
    )


def group_fields(initiative_id: uuid.UUID | None = None) -> dict[str, Any]:
    return {
        "group_id": uuid.uuid4(),
        "initiative_id": initiative_id or uuid.uuid4(),
        "initiative_reference": "MM-2026-0042",
        "initiative_title": "Sommarjobb för unga i Sofielund",
    }


def members(language: Language = Language.SV) -> tuple[groups.GroupMember, ...]:
    return (
        member("Karin Lind", ORIGINATOR, "originator_contact", language),
        member("Ali Hassan", "ali.hassan@example.org", "resource", language),
        member("Sara Berg", "sara.berg@malmo.se", "municipality_representative", language),
    )


def proposed(initiative_id: uuid.UUID | None = None) -> groups.GroupProposed:
    fields = group_fields(initiative_id)
    return groups.GroupProposed(
        **fields,
        members=members()[1:],
        uncovered_competences=(Competence.PROJECT_MANAGEMENT.value,),
        review_url=f"{MATCHING}/groups/{fields['group_id']}",
    )


def replaced(initiative_id: uuid.UUID | None = None) -> groups.MemberReplaced:
    return groups.MemberReplaced(
        **group_fields(initiative_id),
        previous=member("Sara Berg", "sara.berg@malmo.se", "municipality_representative"),
        replacement=member("Nils Ek", "nils.ek@malmo.se", "municipality_representative"),
    )


def invited(
    language: Language = Language.SV,
    resource_id: uuid.UUID | None = None,
    initiative_id: uuid.UUID | None = None,
    seat: groups.GroupMember | None = None,
) -> groups.MemberInvited:
    fields = group_fields(initiative_id)
    seat = seat or member("Ali Hassan", "ali.hassan@example.org", "resource", language, resource_id)
    return groups.MemberInvited(
        **fields,
        member=seat,
        initiative_summary="Fastighetsägare och staden erbjuder sommarjobb.",
        accept_url=f"{MATCHING}/invitations/{seat.resource_id}/accept?token=a",
        decline_url=f"{MATCHING}/invitations/{seat.resource_id}/decline?token=d",
        expires_at=NOW + timedelta(days=7),
    )


def formed(
    language: Language = Language.SV,
    initiative_id: uuid.UUID | None = None,
    group_members: tuple[groups.GroupMember, ...] | None = None,
) -> groups.GroupFormed:
    return groups.GroupFormed(**group_fields(initiative_id), members=group_members or members(language))


def formation_blocked(initiative_id: uuid.UUID | None = None, **changes: Any) -> groups.GroupFormationBlocked:
    """Nothing can be proposed: no municipality representative, two people short, two competences uncovered."""
    initiative_id = initiative_id or uuid.uuid4()
    fields: dict[str, Any] = {
        "initiative_id": initiative_id,
        "initiative_reference": "MM-2026-0001",
        "initiative_title": "Sommarjobb för unga i Sofielund",
        "missing": ("municipality_representative", "people", "competences"),
        "people_needed": 4,
        "people_free": 2,
        "missing_competences": (Competence.PROJECT_MANAGEMENT.value, Competence.RECRUITMENT.value),
        "review_url": f"{MATCHING}/initiatives/{initiative_id}",
    }
    return groups.GroupFormationBlocked(**{**fields, **changes})
