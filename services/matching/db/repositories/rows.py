"""The organisation and contact columns both projections keep (see tables.organisation_columns and
tables.contact_columns), to and from the domain's value objects."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.matching.domain.profiles import Contact, Organisation


def organisation_row(organisation: Organisation) -> dict[str, Any]:
    return {
        "organisation_name": organisation.name,
        "organisation_type": organisation.type.value,
        "organisation_number": organisation.number,
    }


def organisation_of(row: Mapping[str, Any]) -> dict[str, Any]:
    return {"name": row["organisation_name"], "type": row["organisation_type"], "number": row["organisation_number"]}


def contact_row(contact: Contact, prefix: str = "") -> dict[str, Any]:
    return {f"{prefix}name": contact.name, f"{prefix}email": contact.email, f"{prefix}phone": contact.phone}


def contact_of(row: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    return {"name": row[f"{prefix}name"], "email": row[f"{prefix}email"], "phone": row[f"{prefix}phone"]}
