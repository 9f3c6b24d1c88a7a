"""The links one service signs and another one reads: their format is part of the contract between them.

The private profile link (`<web>/my/profile/<token>`) is verified by resources (its API takes the token) and is
to be signed at send time by notifications, so that neither the events nor the stored email bodies need to
carry it: an event names the resource and the link version, and the sender builds the link just before SMTP.
Both services must therefore agree on the purpose, the path and the subject, "(resource id):(version)", with
version 0 meaning the token of the resource id alone (the links mailed before versions existed).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from datetime import timedelta
from urllib.parse import urlsplit

from itsdangerous import URLSafeTimedSerializer

from shared.links import DEFAULT_MAX_AGE, VersionedLink

PROFILE_LINK_PURPOSE = "resource-profile"
PROFILE_LINK_PATH = "my/profile"


def profile_link(
    web_url: str,
    secret: str,
    *,
    max_age: timedelta | None = DEFAULT_MAX_AGE,
    clock: Callable[[], float] = time.time,
    previous_secrets: Sequence[str] = (),
) -> VersionedLink:
    """The resource's private profile link: `versioned_url(resource_id, version)`, `read_versioned(token)`."""
    return VersionedLink(
        web_url,
        secret,
        purpose=PROFILE_LINK_PURPOSE,
        path=PROFILE_LINK_PATH,
        max_age=max_age,
        clock=clock,
        previous_secrets=previous_secrets,
    )


def profile_url(web_url: str, secret: str, resource_id: uuid.UUID, version: int) -> str:
    """The profile link of `resource_id` at `version`, as resources verifies it."""
    return profile_link(web_url, secret).versioned_url(resource_id, version)


def version_in_profile_url(url: str) -> int:
    """The link version a profile URL names, read from its token without checking the signature (that is
    resources' job; this only reads what our own events and rows carried before they named the version):
    version 1 events and notifications' old rows held the whole URL. 0 for a token of the id alone, and for
    anything that is not a profile token at all (version 0 is what every link was before versions existed)."""
    token = urlsplit(url).path.rstrip("/").rpartition("/")[2]
    # Only the payload is read: loads_unsafe answers it whatever key signed the token.
    _, payload = URLSafeTimedSerializer("any key").loads_unsafe(token)
    _, _, version = str(payload).partition(":") if isinstance(payload, str) else ("", "", "")
    return int(version) if version.isdigit() else 0
