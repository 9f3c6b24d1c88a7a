"""The unsubscribe link of a coordinator's digest: signed, naming the preference (never the address)."""

from __future__ import annotations

from shared.links import PrivateLink


class UnsubscribeLinks(PrivateLink):
    """`<public url>/unsubscribe/<token>`. A GET of the link only shows a page; its button (or a
    one-click POST, RFC 8058) acts."""

    def __init__(self, public_url: str, secret: str) -> None:
        super().__init__(public_url, secret, purpose="digest-unsubscribe", path="unsubscribe")
