"""Validation of what people type, shared by every public API: one rule, one message, one place.

Each normaliser returns the canonical form or raises ValueError with a reason a person can act on;
the Annotated types plug them into pydantic models so a 422 names the field.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated

import phonenumbers
from pydantic import AfterValidator, StringConstraints
from stdnum.exceptions import ValidationError as StdnumValidationError
from stdnum.se import orgnr

LINE_BREAKS = frozenset("\n\r\t")


def plain_text(value: str) -> str:
    """Refuse control characters (NUL among them) and lone surrogates in a one-line text."""
    if any(unicodedata.category(char) in {"Cc", "Cs"} for char in value):
        raise ValueError("contains control characters")
    return value


def multiline_text(value: str) -> str:
    """Like plain_text, but line breaks and tabs are welcome."""
    if any(unicodedata.category(char) in {"Cc", "Cs"} and char not in LINE_BREAKS for char in value):
        raise ValueError("contains control characters")
    return value


def normalise_phone(value: str) -> str:
    """E.164 (+46701234567); a number without country code is read as Swedish."""
    try:
        number = phonenumbers.parse(value, "SE")
    except phonenumbers.NumberParseException:
        raise ValueError("is not a phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError("is not a valid phone number")
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def normalise_organisation_number(value: str) -> str:
    """A Swedish organisation number with a valid check digit (python-stdnum), as NNNNNN-NNNN."""
    try:
        return str(orgnr.format(orgnr.validate(value)))
    except StdnumValidationError as exc:
        raise ValueError(f"is not a valid Swedish organisation number: {str(exc).lower().rstrip('.')}") from None


# Length limits go on the field: `title: PlainText = Field(min_length=5, max_length=200)`.
PlainText = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(plain_text)]
MultilineText = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(multiline_text)]
PhoneNumber = Annotated[str, StringConstraints(max_length=40), AfterValidator(normalise_phone)]
OrganisationNumber = Annotated[str, StringConstraints(max_length=20), AfterValidator(normalise_organisation_number)]
