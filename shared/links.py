"""Signed links for people without an account (originators, resources, invited members, coordinators).

A token names its subject (an initiative id, a seat and an answer, ...) and is signed for one
purpose, so a status link cannot be used as a confirmation link. Each service's `links.py` says
which links it hands out, each one a `PrivateLink`. A link older than its `max_age` is refused with
ExpiredLink (the services answer 410, the web's page says the link has expired), so a link found in an
old mailbox or a forwarded email stops working.

A link can also name a version of its subject (`VersionedLink`): the owner keeps the current version
beside the subject, and bumping it (a re-issued link, a re-subscription) revokes every link sent before;
such a link is refused with ReplacedLink (410, `state` "replaced"). Version 0 is the token of the id alone,
so the links sent before versions existed keep working until the first bump.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from datetime import timedelta

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

DEFAULT_MAX_AGE = timedelta(days=365)


class InvalidLink(ValueError):
    """The link was altered, belongs to another purpose, or never existed."""


class ExpiredLink(Exception):
    """A genuine link, older than its links may be: the services answer 410 (see shared.service)."""


class ReplacedLink(ExpiredLink):
    """A genuine link naming an older version of its subject: a newer link was sent, so this one is gone (410)."""


class _ClockedSerializer(URLSafeTimedSerializer):
    """itsdangerous' timed serializer whose signer reads `clock` (tests age links without waiting)."""

    def __init__(self, secrets: list[str], salt: str, clock: Callable[[], float]) -> None:
        clocked = type("ClockedSigner", (self.default_signer,), {"get_timestamp": lambda _self: int(clock())})
        # itsdangerous signs with the last key of the list and accepts a token signed with any of them.
        super().__init__(secrets, salt=salt, signer=clocked)


class LinkSigner:
    """Signs with `secret`; also accepts tokens signed with one of `previous_secrets` (a key being rotated out),
    so the links mailed before a new key keep working."""

    def __init__(
        self,
        secret: str,
        purpose: str,
        max_age: timedelta | None = DEFAULT_MAX_AGE,
        clock: Callable[[], float] = time.time,
        previous_secrets: Sequence[str] = (),
    ) -> None:
        # Timed: the token carries when it was signed, which is how its age is known.
        keys = [old for old in reversed(previous_secrets) if old and old != secret] + [secret]
        self._serializer = _ClockedSerializer(keys, f"meetmalmo:{purpose}", clock)
        self._max_age = int(max_age.total_seconds()) if max_age is not None else None

    def token(self, subject: str) -> str:
        return self._serializer.dumps(subject)

    def subject(self, token: str) -> str:
        try:
            return str(self._serializer.loads(token, max_age=self._max_age))
        except SignatureExpired:
            raise ExpiredLink("this link has expired") from None
        except BadSignature:
            raise InvalidLink("this link is not valid") from None

    def subject_at_any_age(self, token: str) -> str:
        """The subject of a genuine token however old (to re-issue an expired link); InvalidLink for a forged one."""
        try:
            return str(self._serializer.loads(token))
        except BadSignature:
            raise InvalidLink("this link is not valid") from None


class PrivateLink:
    """`<public url>/<path>/<token>`, the token signed for `purpose` and carrying the subject's parts."""

    def __init__(
        self,
        public_url: str,
        secret: str,
        *,
        purpose: str,
        path: str,
        max_age: timedelta | None = DEFAULT_MAX_AGE,
        clock: Callable[[], float] = time.time,
        previous_secrets: Sequence[str] = (),
    ) -> None:
        self._prefix = f"{public_url.rstrip('/')}/{path.strip('/')}/"
        self._signer = LinkSigner(secret, purpose, max_age, clock, previous_secrets)

    def token(self, *parts: object) -> str:
        return self._signer.token(":".join(map(str, parts)))

    def url(self, *parts: object) -> str:
        return self.url_for(self.token(*parts))

    def url_for(self, token: str) -> str:
        return self._prefix + token

    def read(self, token: str, parts: int = 1) -> list[str]:
        """The subject's parts; InvalidLink for a forged token or one of another shape, ExpiredLink for an old one."""
        found = self._signer.subject(token).split(":", parts - 1)
        if len(found) != parts:
            raise InvalidLink("this link is not valid")
        return found

    def read_at_any_age(self, token: str, parts: int = 1) -> list[str]:
        """As `read`, but an expired link is read too: what it named, so that a new one can be sent."""
        found = self._signer.subject_at_any_age(token).split(":", parts - 1)
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


class VersionedLink(PrivateLink):
    """A private link naming one id and the version it was issued at (see the module's docstring)."""

    def versioned_token(self, subject_id: uuid.UUID, version: int) -> str:
        return self.token(subject_id, version) if version else self.token(subject_id)

    def versioned_url(self, subject_id: uuid.UUID, version: int) -> str:
        return self.url_for(self.versioned_token(subject_id, version))

    def read_versioned(self, token: str) -> tuple[uuid.UUID, int]:
        """(id, version); a token of the id alone names version 0. InvalidLink, ExpiredLink as `read`."""
        subject_id, _, version = self.read(token)[0].partition(":")
        if version and not version.isdigit():
            raise InvalidLink("this link is not valid")
        return link_id(subject_id), int(version or 0)


def check_version(named: int, current: int) -> None:
    """ReplacedLink when a link names another version than its subject's current one."""
    if named != current:
        raise ReplacedLink("a newer link was sent")
