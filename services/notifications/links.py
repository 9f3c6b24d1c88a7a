"""The unsubscribe link of a coordinator's digest: signed, naming the preference (never the address)."""

from __future__ import annotations

from datetime import timedelta

from shared.links import DEFAULT_MAX_AGE, VersionedLink


class UnsubscribeLinks(VersionedLink):
    """`<web>/unsubscribe/<token>` (MEETMALMO_WEB_PUBLIC_URL), naming the preference and its link version: each
    digest carries the current one, and choosing the digest again revokes the links sent before (410). A GET
    of the link only shows the web's page; its button, or a mail client's one-click POST (RFC 8058), acts
    through `/api/v1/unsubscribe/<token>`."""

    def __init__(self, web_url: str, secret: str, max_age: timedelta = DEFAULT_MAX_AGE) -> None:
        super().__init__(web_url, secret, purpose="digest-unsubscribe", path="unsubscribe", max_age=max_age)
