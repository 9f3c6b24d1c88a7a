"""Validation of what people type, shared by every public API: one rule, one message, one place.

Each normaliser returns the canonical form or raises ValueError with a reason a person can act on;
the Annotated types plug them into pydantic models so a 422 names the field.
"""

from __future__ import annotations

import re
from typing import Annotated

import phonenumbers
from pydantic import AfterValidator, StringConstraints
from stdnum.exceptions import ValidationError as StdnumValidationError
from stdnum.se import orgnr

# Unicode's control characters (category Cc: U+0000-U+001F, U+007F-U+009F) and lone surrogates (Cs), as one
# character class: the search runs in C, not a Python step per character of a 10,000-character description.
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
CONTROL_BUT_LINE_BREAKS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")  # not \t \n \r


def plain_text(value: str) -> str:
    """Refuse control characters (NUL among them) and lone surrogates in a one-line text."""
    if CONTROL.search(value):
        raise ValueError("contains control characters")
    return value


def multiline_text(value: str) -> str:
    """Like plain_text, but line breaks and tabs are welcome."""
    if CONTROL_BUT_LINE_BREAKS.search(value):
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
