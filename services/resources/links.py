"""The two private links a resource gets by email: confirm the registration, manage the profile.

Both are signed (shared.links), so a forged or altered link is refused before the database is asked.
The confirmation link also carries a one-time secret whose hash the registry keeps until it is used;
the profile link names only the resource and lasts as long as the profile does.
"""

from __future__ import annotations

import uuid

from shared.links import InvalidLink, LinkSigner


class PrivateLinks:
    def __init__(self, public_url: str, secret: str) -> None:
        self._base = public_url.rstrip("/")
        self._confirmation = LinkSigner(secret, "resource-confirmation")
        self._profile = LinkSigner(secret, "resource-profile")

    def confirm_url(self, resource_id: uuid.UUID, confirmation_secret: str) -> str:
        return self.confirm_url_for(self._confirmation.token(f"{resource_id}:{confirmation_secret}"))

    def confirm_url_for(self, token: str) -> str:
        return f"{self._base}/confirm/{token}"

    def read_confirmation(self, token: str) -> tuple[uuid.UUID, str]:
        """(resource id, one-time secret); raises InvalidLink. Expiry is the registry's to judge."""
        resource_id, _, confirmation_secret = self._confirmation.subject(token).partition(":")
        return _uuid(resource_id), confirmation_secret

    def profile_token(self, resource_id: uuid.UUID) -> str:
        return self._profile.token(str(resource_id))

    def profile_url(self, resource_id: uuid.UUID) -> str:
        return self.profile_url_for(self.profile_token(resource_id))

    def profile_url_for(self, token: str) -> str:
        return f"{self._base}/my/profile/{token}"

    def read_profile(self, token: str) -> uuid.UUID:
        return _uuid(self._profile.subject(token))


def _uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise InvalidLink("this link is not valid") from None
