"""Between the event contracts (shared.contracts) and matching's domain: what is read from intake's and
resources' events, and the GroupMember each group event carries."""

from __future__ import annotations

from services.matching.domain.group import Role, Seat
from services.matching.domain.profiles import (
    ERASED_CONTACT,
    Contact,
    Initiative,
    InitiativeStatus,
    Organisation,
    Resource,
)
from shared.contracts.groups import GroupMember
from shared.contracts.initiatives import InitiativeEvent
from shared.contracts.resources import ResourceRegistered, ResourceUpdated
from shared.taxonomy import Language


def initiative_of(event: InitiativeEvent, status: InitiativeStatus) -> Initiative:
    o = event.originator
    return Initiative(
        id=event.initiative_id,
        reference=event.reference,
        title=event.title,
        summary=event.summary,
        status=status,
        themes=event.themes,
        competences=event.competences_needed,
        size_min=event.group_size_min,
        size_max=event.group_size_max,
        language=event.language.value,
        originator=Organisation(o.organisation_name, o.organisation_type, o.organisation_number),
        contact=Contact(o.contact_name, o.contact_email, o.contact_phone),
    )


def resource_of(event: ResourceRegistered | ResourceUpdated, active: bool) -> Resource:
    p = event.profile
    return Resource(
        id=event.resource_id,
        contact=Contact(p.name, p.email, p.phone),
        language=p.language.value,
        organisation=Organisation(p.organisation_name, p.organisation_type, p.organisation_number),
        role_title=p.role_title,
        competences=frozenset(p.competences),
        themes=frozenset(p.themes),
        languages=frozenset(p.languages),
        capacity=p.capacity,
        active=active,
    )


def member_of(seat: Seat, person: Resource | None) -> GroupMember:
    """The member as group events carry them; why they were chosen is worded in their own language, as
    the emails to them are (their invitation quotes it)."""
    if person is None:  # erased: nothing personal is left to tell
        return GroupMember(
            resource_id=seat.resource_id,
            role=seat.role.value,
            name="(erased)",
            email="",
            organisation_name="",
            explanation=seat.explanation.text_in(Language.SV.value),
        )
    language = Language(person.language) if person.language in Language.__members__.values() else Language.SV
    return GroupMember(
        resource_id=person.id,
        role=seat.role.value,
        name=person.contact.name,
        email=person.contact.email,
        phone=person.contact.phone,
        organisation_name=person.organisation.name,
        language=language,
        explanation=seat.explanation.text_in(language.value),
    )


def originator_contact(initiative: Initiative) -> tuple[GroupMember, ...]:
    """The originator's contact person as GroupFormed introduces them; nobody once they were erased (rather
    than an `(erased)` line without an address in every member's email)."""
    if initiative.contact == ERASED_CONTACT:
        return ()
    return (
        GroupMember(
            role=Role.ORIGINATOR_CONTACT.value,
            name=initiative.contact.name,
            email=initiative.contact.email,
            phone=initiative.contact.phone,
            organisation_name=initiative.originator.name,
            language=Language(initiative.language),
        ),
    )
