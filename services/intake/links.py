"""The originator's private status link: signed, so it needs no account and no stored secret."""

from __future__ import annotations

from shared.links import PrivateLink


class StatusLinks(PrivateLink):
    """`<public url>/my/initiatives/<token>`, the token naming the initiative (`url(id)`, `read_id(token)`)."""

    def __init__(self, public_url: str, secret: str) -> None:
        super().__init__(public_url, secret, purpose="initiative-status", path="my/initiatives")
