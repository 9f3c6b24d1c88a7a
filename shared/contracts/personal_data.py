"""Where events carry personal data, and the same payload without one subject's name, email and phone.

Two kinds of subject can be erased: a resource (named by resource_id wherever it appears: a group member,
a resource event and its profile) and an initiative's originator contact (the `originator` of an initiative
event, the `originator_contact` member of a group event, named by the initiative id). No I/O.
"""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Any

ERASED_NAME = "(erased)"


class SubjectKind(StrEnum):
    RESOURCE = "resource"  # a person in the pool, named by resource_id
    ORIGINATOR = "originator"  # an initiative's contact person, named by initiative_id


_PERSON = {"name": ERASED_NAME, "email": "", "phone": None}
_CONTACT = {"contact_name": ERASED_NAME, "contact_email": "", "contact_phone": None}


def _blanked(found: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    return {**found, **{name: value for name, value in fields.items() if name in found}}


def redact_payload(payload: Any, kind: SubjectKind, subject_id: uuid.UUID) -> Any:
    """The event payload (JSON) without the subject's name, email and phone.

    A resource is any object whose `resource_id` names it (a group member, a resource event and its
    profile); an originator is the `originator` of an initiative event, and the `originator_contact`
    member of a group event, of the initiative it names."""
    wanted = str(subject_id)

    def walk(value: Any, initiative: str | None) -> Any:
        if isinstance(value, list):
            return [walk(item, initiative) for item in value]
        if not isinstance(value, dict):
            return value
        initiative = value.get("initiative_id", initiative)
        found = {key: walk(item, initiative) for key, item in value.items()}
        if kind is SubjectKind.RESOURCE and found.get("resource_id") == wanted:
            found = _blanked(found, _PERSON)
            if isinstance(found.get("profile"), dict):
                found["profile"] = _blanked(found["profile"], _PERSON)
        if kind is SubjectKind.ORIGINATOR and initiative == wanted:
            if isinstance(found.get("originator"), dict):
                found["originator"] = _blanked(found["originator"], _CONTACT)
            if found.get("role") == "originator_contact":
                found = _blanked(found, _PERSON)
        return found

    return walk(payload, None)
