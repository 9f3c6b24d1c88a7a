"""The two private links a resource gets by email: confirm the registration, manage the profile.

Both are signed (shared.links), so a forged or altered link is refused before the database is asked.
The confirmation link also carries a one-time secret whose hash the registry keeps until it is used;
the profile link names the resource and its link version, and expires after RESOURCES_LINK_MAX_AGE_DAYS. It is
signed with MEETMALMO_PROFILE_LINK_SECRET, which notifications shares: notifications signs it when it sends an
email, so it travels in no event; the links signed here before (with RESOURCES_LINK_SECRET) keep verifying.
Both open the web's
pages (MEETMALMO_WEB_PUBLIC_URL: `/confirm/<token>`, `/my/profile/<token>`), which ask this service's
`/api/v1/confirmations/<token>` and `/api/v1/my/profile/<token>`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta

from shared.contracts.links import profile_link
from shared.links import DEFAULT_MAX_AGE, PrivateLink, link_id


class PrivateLinks:
    def __init__(
        self,
        web_url: str,
        secret: str,
        max_age: timedelta = DEFAULT_MAX_AGE,
        previous_secrets: Sequence[str] = (),
        *,
        profile_secret: str | None = None,
    ) -> None:
        """`secret` signs the confirmation link; `profile_secret` (the platform's, shared with notifications; `secret`
        when not given) the profile link, which also accepts `previous_secrets` (the links mailed before a key
        rotation, such as those signed with `secret` before the profile link had a secret of its own)."""
        # The confirmation link's expiry is the registry's (its 410 says expired or replaced), not the signer's.
        self.confirmation = PrivateLink(web_url, secret, purpose="resource-confirmation", path="confirm", max_age=None)
        # The profile link's format is shared.contracts.links', as notifications signs it at send time.
        self.profile = profile_link(
            web_url, profile_secret or secret, max_age=max_age, previous_secrets=previous_secrets
        )

    def profile_token(self, resource_id: uuid.UUID, link_version: int) -> str:
        """The profile link's token; a never-renewed link (version 0) names the resource alone, as before."""
        return self.profile.versioned_token(resource_id, link_version)

    def profile_url(self, resource_id: uuid.UUID, link_version: int) -> str:
        return self.profile.versioned_url(resource_id, link_version)

    def read_profile(self, token: str) -> tuple[uuid.UUID, int]:
        """(resource id, the link version it names); links sent before versions name version 0."""
        return self.profile.read_versioned(token)

    def read_confirmation(self, token: str) -> tuple[uuid.UUID, str]:
        """(resource id, one-time secret); raises InvalidLink. Expiry is the registry's to judge."""
        resource_id, confirmation_secret = self.confirmation.read(token, parts=2)
        return link_id(resource_id), confirmation_secret
