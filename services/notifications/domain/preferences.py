"""How each coordinator wants their alerts: one email each, or the day's in one digest; and in which language."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum


class AlertMode(StrEnum):
    """How a coordinator wants their alerts: one email each, or all of a day's in one digest."""

    IMMEDIATE = "immediate"
    DAILY_DIGEST = "daily_digest"


@dataclass(frozen=True)
class CoordinatorPreference:
    id: uuid.UUID  # what the unsubscribe link names (never the address)
    email: str  # lower case
    alert_mode: AlertMode
    language: str | None
    # The unsubscribe link names this version: choosing the digest again revokes every link sent before.
    link_version: int = 0

    @property
    def wants_digest(self) -> bool:
        return self.alert_mode is AlertMode.DAILY_DIGEST


def address_key(email: str) -> str:
    """Preferences are kept by the address in lower case, without surrounding blanks."""
    return email.strip().lower()


def preferred_language(preference: CoordinatorPreference | None, default: str) -> str:
    """The language a coordinator chose for their emails, else the email's own."""
    return (preference.language if preference else None) or default
