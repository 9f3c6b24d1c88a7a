"""The originator's private status link: signed, so it needs no account and no stored secret."""

from __future__ import annotations

from datetime import timedelta

from shared.links import DEFAULT_MAX_AGE, VersionedLink


class StatusLinks(VersionedLink):
    """`<web>/my/initiatives/<token>`, the token naming the initiative and its status-link version
    (`versioned_url(id, version)`, `read_versioned(token)`): a re-issued link revokes every one sent before.

    The link opens the web's status page (MEETMALMO_WEB_PUBLIC_URL), which reads and acts through
    `/api/v1/my/initiatives/<token>` here."""

    def __init__(self, web_url: str, secret: str, max_age: timedelta = DEFAULT_MAX_AGE) -> None:
        super().__init__(web_url, secret, purpose="initiative-status", path="my/initiatives", max_age=max_age)
