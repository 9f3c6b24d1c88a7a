"""The two private links a resource gets by email: confirm the registration, manage the profile.

Both are signed (shared.links), so a forged or altered link is refused before the database is asked.
The confirmation link also carries a one-time secret whose hash the registry keeps until it is used;
the profile link names only the resource and expires after RESOURCES_LINK_MAX_AGE_DAYS. Both open the web's
pages (MEETMALMO_WEB_PUBLIC_URL: `/confirm/<token>`, `/my/profile/<token>`), which ask this service's
`/api/v1/confirmations/<token>` and `/api/v1/my/profile/<token>`.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from shared.links import DEFAULT_MAX_AGE, PrivateLink, link_id


class PrivateLinks:
    def __init__(self, web_url: str, secret: str, max_age: timedelta = DEFAULT_MAX_AGE) -> None:
        # The confirmation link's expiry is the registry's (its 410 says expired or replaced), not the signer's.
        self.confirmation = PrivateLink(web_url, secret, purpose="resource-confirmation", path="confirm", max_age=None)
        self.profile = PrivateLink(web_url, secret, purpose="resource-profile", path="my/profile", max_age=max_age)

    def read_confirmation(self, token: str) -> tuple[uuid.UUID, str]:
        """(resource id, one-time secret); raises InvalidLink. Expiry is the registry's to judge."""
        resource_id, confirmation_secret = self.confirmation.read(token, parts=2)
        return link_id(resource_id), confirmation_secret
