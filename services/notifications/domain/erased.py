"""An event about people some of whom were erased, as notifications may still use it. No I/O.

Events travel on several topics, whose relative order Kafka does not keep: a `MemberInvited` or a
`GroupFormed` can arrive after the `ResourceErased` of one of its members. Such an event is read with
the erased people's name, email and phone blanked, so that no email goes to them and no text shows them.
"""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from shared.contracts import Event
from shared.contracts.personal_data import SubjectKind, redact_payload

E = TypeVar("E", bound=Event)


def resources_named(event: Event) -> set[uuid.UUID]:
    """Every resource the event names (a resource event's subject, a group's members)."""
    found: set[uuid.UUID] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if value.get("resource_id"):
                found.add(uuid.UUID(str(value["resource_id"])))
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(event.model_dump(mode="json"))
    return found


def initiative_named(event: Event) -> uuid.UUID | None:
    value = getattr(event, "initiative_id", None)
    return value if isinstance(value, uuid.UUID) else None


def without_erased(event: E, resources: set[uuid.UUID], originator_erased: bool) -> E:
    """The event with the erased resources' and (if erased) the originator's contact details blanked."""
    initiative = initiative_named(event)
    if not resources and not (originator_erased and initiative):
        return event
    payload = event.model_dump(mode="json")
    for resource_id in resources:
        payload = redact_payload(payload, SubjectKind.RESOURCE, resource_id)
    if originator_erased and initiative is not None:
        payload = redact_payload(payload, SubjectKind.ORIGINATOR, initiative)
    return type(event).model_validate(payload)
