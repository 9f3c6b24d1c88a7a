"""The two private links a resource gets by email: confirm the registration, manage the profile.

Both are signed (shared.links), so a forged or altered link is refused before the database is asked.
The confirmation link also carries a one-time secret whose hash the registry keeps until it is used;
the profile link names only the resource and lasts as long as the profile does.
"""

from __future__ import annotations

import uuid

from shared.links import PrivateLink, link_id


class PrivateLinks:
    def __init__(self, public_url: str, secret: str) -> None:
        self.confirmation = PrivateLink(public_url, secret, purpose="resource-confirmation", path="confirm")
        self.profile = PrivateLink(public_url, secret, purpose="resource-profile", path="my/profile")

    def read_confirmation(self, token: str) -> tuple[uuid.UUID, str]:
        """(resource id, one-time secret); raises InvalidLink. Expiry is the registry's to judge."""
        resource_id, confirmation_secret = self.confirmation.read(token, parts=2)
        return link_id(resource_id), confirmation_secret
