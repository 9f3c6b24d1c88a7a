"""The unsubscribe link of a coordinator's digest: signed, naming the preference (never the address)."""

from __future__ import annotations

import uuid

from shared.links import LinkSigner


class UnsubscribeLinks:
    """A GET of the link only shows a page; its button (or a one-click POST, RFC 8058) acts."""

    def __init__(self, public_url: str, secret: str) -> None:
        self._base = public_url.rstrip("/")
        self._signer = LinkSigner(secret, "digest-unsubscribe")

    def url(self, preference_id: uuid.UUID) -> str:
        return f"{self._base}/unsubscribe/{self._signer.token(str(preference_id))}"

    def read(self, token: str) -> uuid.UUID:
        """The preference the link names; raises InvalidLink (or ValueError) for anything else."""
        return uuid.UUID(self._signer.subject(token))
