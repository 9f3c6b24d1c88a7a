"""Which event fields carry whose personal data, and an event without one subject's (shared.contracts)."""

from __future__ import annotations

import uuid

from shared.contracts.personal_data import ERASED_NAME, SubjectKind, redact_payload


def member(resource_id: uuid.UUID | None, name: str, role: str = "resource") -> dict[str, object]:
    return {"resource_id": str(resource_id) if resource_id else None, "role": role, "name": name,
            "email": f"{name.split()[0].lower()}@example.org", "phone": "+46 70 000 00 00"}  # fmt: skip


def test_a_resource_is_blanked_wherever_a_member_or_a_profile_names_them_and_nobody_else_is() -> None:
    zelda, other, initiative = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    payload = {
        "initiative_id": str(initiative),
        "members": [member(zelda, "Zelda Zorn"), member(other, "Olle Ek"), member(None, "Anna", "originator_contact")],
        "previous": member(zelda, "Zelda Zorn"),
    }
    registered = {"resource_id": str(zelda), "profile": {"name": "Zelda Zorn", "email": "z@example.org"}}

    redacted = redact_payload(payload, SubjectKind.RESOURCE, zelda)

    assert redacted["members"][0] | {"resource_id": None} == {
        "resource_id": None, "role": "resource", "name": ERASED_NAME, "email": "", "phone": None
    }  # fmt: skip
    assert redacted["previous"]["name"] == ERASED_NAME
    assert redacted["members"][1] == payload["members"][1] and redacted["members"][2] == payload["members"][2]
    assert redact_payload(registered, SubjectKind.RESOURCE, zelda)["profile"] == {"name": ERASED_NAME, "email": ""}


def test_an_originator_is_blanked_in_their_initiatives_events_only() -> None:
    initiative, elsewhere = uuid.uuid4(), uuid.uuid4()
    originator = {"organisation_name": "Acme", "contact_name": "An", "contact_email": "a@x.se", "contact_phone": "1"}
    submitted = {"initiative_id": str(initiative), "originator": originator}
    formed = {"initiative_id": str(initiative), "members": [member(None, "Anna A", "originator_contact")]}

    assert redact_payload(submitted, SubjectKind.ORIGINATOR, initiative)["originator"] == {
        "organisation_name": "Acme", "contact_name": ERASED_NAME, "contact_email": "", "contact_phone": None
    }  # fmt: skip
    assert redact_payload(formed, SubjectKind.ORIGINATOR, initiative)["members"][0]["email"] == ""
    assert redact_payload(submitted, SubjectKind.ORIGINATOR, elsewhere) == submitted
