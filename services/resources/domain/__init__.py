"""Resources's domain: the profile and its value rules (`domain.profile`), the Resource aggregate, search
filters. No I/O."""

from services.resources.domain.profile import Profile
from services.resources.domain.resource import (
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
    "ConfirmationLinkExpired",
    "ConfirmationLinkReplaced",
    "EmailAlreadyRegistered",
    "LinkState",
    "Profile",
    "RegistrationOutcome",
    "Resource",
    "SearchFilters",
    "Status",
]
