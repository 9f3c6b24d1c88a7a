"""The originator's private status link: signed, so it needs no account and no stored secret."""

from __future__ import annotations

from datetime import timedelta

from shared.links import DEFAULT_MAX_AGE, PrivateLink


class StatusLinks(PrivateLink):
    """`<web>/my/initiatives/<token>`, the token naming the initiative (`url(id)`, `read_id(token)`).

    The link opens the web's status page (MEETMALMO_WEB_PUBLIC_URL), which reads and acts through
    `/api/v1/my/initiatives/<token>` here."""

    def __init__(self, web_url: str, secret: str, max_age: timedelta = DEFAULT_MAX_AGE) -> None:
        super().__init__(web_url, secret, purpose="initiative-status", path="my/initiatives", max_age=max_age)
