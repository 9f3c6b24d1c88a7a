"""Signed links for people without an account (originators, resources, invited members).

A token names its subject (an initiative id, a resource id, ...) and is signed for one purpose, so a
status link cannot be used as a confirmation link. Expiry is checked where the purpose has one.
"""

from __future__ import annotations

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer


class InvalidLink(ValueError):
    """The link was altered, belongs to another purpose, or never existed."""


class ExpiredLink(ValueError):
    """The link was genuine but is too old."""


class LinkSigner:
    def __init__(self, secret: str, purpose: str) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt=f"meetmalmo:{purpose}")

    def token(self, subject: str) -> str:
        return self._serializer.dumps(subject)

    def subject(self, token: str, max_age_seconds: int | None = None) -> str:
        try:
            return str(self._serializer.loads(token, max_age=max_age_seconds))
        except SignatureExpired:
            raise ExpiredLink("this link has expired") from None
        except BadSignature:
            raise InvalidLink("this link is not valid") from None
