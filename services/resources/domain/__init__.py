"""Resources's domain: the profile and its value rules, the Resource aggregate, search filters. No I/O."""

from services.resources.domain.profile import (
    MAX_CAPACITY,
    MAX_HOURS_PER_MONTH,
    MAX_LANGUAGES,
    MAX_TAG_LENGTH,
    MAX_TAGS,
    MIN_CAPACITY,
    Profile,
    normalise_email,
    normalise_language_code,
    normalise_sector,
    normalise_tags,
    unique,
)
from services.resources.domain.resource import (
    CONFIRMATION_VALIDITY,
    SELF,
    ConfirmationLinkExpired,
    ConfirmationLinkReplaced,
    EmailAlreadyRegistered,
    LinkState,
    RegistrationOutcome,
    Resource,
    Status,
)
from services.resources.domain.search import SearchFilters

__all__ = [
    "CONFIRMATION_VALIDITY",
    "MAX_CAPACITY",
    "MAX_HOURS_PER_MONTH",
    "MAX_LANGUAGES",
    "MAX_TAGS",
    "MAX_TAG_LENGTH",
    "MIN_CAPACITY",
    "SELF",
    "ConfirmationLinkExpired",
    "ConfirmationLinkReplaced",
    "EmailAlreadyRegistered",
    "LinkState",
    "Profile",
    "RegistrationOutcome",
    "Resource",
    "SearchFilters",
    "Status",
    "normalise_email",
    "normalise_language_code",
    "normalise_sector",
    "normalise_tags",
    "unique",
]
