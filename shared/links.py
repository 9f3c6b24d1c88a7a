"""Signed links for people without an account (originators, resources, invited members, coordinators).

A token names its subject (an initiative id, a seat and an answer, ...) and is signed for one
purpose, so a status link cannot be used as a confirmation link. Each service's `links.py` says
which links it hands out, each one a `PrivateLink`.
"""

from __future__ import annotations

import uuid

from itsdangerous import BadSignature, URLSafeTimedSerializer


class InvalidLink(ValueError):
    """The link was altered, belongs to another purpose, or never existed."""


class LinkSigner:
    def __init__(self, secret: str, purpose: str) -> None:
        # Timed: links already sent keep working, and their age is there for expiry.
        self._serializer = URLSafeTimedSerializer(secret, salt=f"meetmalmo:{purpose}")

    def token(self, subject: str) -> str:
        return self._serializer.dumps(subject)

    def subject(self, token: str) -> str:
        try:
            return str(self._serializer.loads(token))
        except BadSignature:
            raise InvalidLink("this link is not valid") from None


class PrivateLink:
    """`<public url>/<path>/<token>`, the token signed for `purpose` and carrying the subject's parts."""

    def __init__(self, public_url: str, secret: str, *, purpose: str, path: str) -> None:
        self._prefix = f"{public_url.rstrip('/')}/{path.strip('/')}/"
        self._signer = LinkSigner(secret, purpose)

    def token(self, *parts: object) -> str:
        return self._signer.token(":".join(map(str, parts)))

    def url(self, *parts: object) -> str:
        return self.url_for(self.token(*parts))

    def url_for(self, token: str) -> str:
        return self._prefix + token

    def read(self, token: str, parts: int = 1) -> list[str]:
        """The subject's parts; InvalidLink for a forged token or one of another shape."""
        found = self._signer.subject(token).split(":", parts - 1)
        if len(found) != parts:
            raise InvalidLink("this link is not valid")
        return found

    def read_id(self, token: str) -> uuid.UUID:
        """The one id the link names; InvalidLink for anything else."""
        return link_id(self.read(token)[0])


def link_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise InvalidLink("this link is not valid") from None
