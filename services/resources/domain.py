"""The Resource aggregate: a person who offers time and competence, their profile and status. No I/O."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TypeVar

from shared.errors import DomainError, InvalidTransition
from shared.taxonomy import Competence, Language, OrganisationType, Theme
from shared.validation import plain_text

T = TypeVar("T")

CONFIRMATION_VALIDITY = timedelta(days=7)
MIN_CAPACITY, MAX_CAPACITY = 1, 5
MAX_HOURS_PER_MONTH = 160
MAX_TAGS, MAX_TAG_LENGTH = 20, 50
MAX_LANGUAGES = 20
MAX_EMAIL_LENGTH = 254
SELF = "self"  # registered_by for people who registered and confirmed themselves

# Swedish standard industrial classification (SNI 2007): the sections are the letters A to U.
SNI_SECTIONS = frozenset("ABCDEFGHIJKLMNOPQRSTU")

# ISO 639-1: every two-letter language code.
ISO_639_1 = frozenset(
    """aa ab ae af ak am an ar as av ay az ba be bg bi bm bn bo br bs ca ce ch co cr cs cu cv cy da de dv dz ee
    el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu hy hz ia id ie ig ii ik io is
    it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms
    mt my na nb nd ne ng nl nn no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk
    sl sm sn so sq sr ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi
    yo za zh zu""".split()  # noqa: SIM905 - a block of codes reads better than 183 quoted strings
)


class Status(StrEnum):
    PENDING_CONFIRMATION = "pending_confirmation"
    ACTIVE = "active"
    PAUSED = "paused"
    WITHDRAWN = "withdrawn"


class Action(StrEnum):
    CONFIRM = "confirm"
    PAUSE = "pause"
    RESUME = "resume"
    WITHDRAW = "withdraw"
    UPDATE = "update"
    REGISTER_AGAIN = "register_again"


# Which statuses each action may start from, and where it leads (None: the status stays). Erasure is
# allowed from any status and leaves nothing behind, so it is no transition: the registry deletes the row.
TRANSITIONS: dict[Action, tuple[frozenset[Status], Status | None]] = {
    Action.CONFIRM: (frozenset({Status.PENDING_CONFIRMATION}), Status.ACTIVE),
    Action.PAUSE: (frozenset({Status.ACTIVE}), Status.PAUSED),
    Action.RESUME: (frozenset({Status.PAUSED}), Status.ACTIVE),
    Action.WITHDRAW: (frozenset({Status.ACTIVE, Status.PAUSED}), Status.WITHDRAWN),
    Action.UPDATE: (frozenset({Status.PENDING_CONFIRMATION, Status.ACTIVE, Status.PAUSED}), None),
    # Registering again with the same email restarts the double opt-in while nobody confirmed it
    # yet, or after the person left the pool; it never touches a confirmed, present profile.
    Action.REGISTER_AGAIN: (frozenset({Status.PENDING_CONFIRMATION, Status.WITHDRAWN}), Status.PENDING_CONFIRMATION),
}

# The other services know a resource from ResourceRegistered on; before that it is this registry's own.
ANNOUNCED = frozenset({Status.ACTIVE, Status.PAUSED, Status.WITHDRAWN})


class ConfirmationLinkExpired(DomainError):
    """The confirmation link is older than its validity; registering again sends a new one."""


class ConfirmationLinkReplaced(DomainError):
    """A newer confirmation link was sent; only the latest one confirms."""


class EmailAlreadyRegistered(DomainError):
    """Another resource already has this email (told to staff only; the public answer never says so)."""

    def __init__(self, resource_id: uuid.UUID) -> None:
        super().__init__("a resource with this email is already registered")
        self.resource_id = resource_id


class LinkState(StrEnum):
    """What a confirmation link can do right now."""

    AWAITING_CONFIRMATION = "awaiting_confirmation"
    ALREADY_CONFIRMED = "already_confirmed"
    EXPIRED = "expired"
    REPLACED = "replaced"


class RegistrationOutcome(StrEnum):
    """What registering an email that is already in the registry led to (never told to the caller)."""

    CONFIRMATION_SENT = "confirmation_sent"
    ALREADY_REGISTERED = "already_registered"


# --- values: each normaliser returns the canonical form or raises ValueError with a reason ----------------


def unique(items: Iterable[T]) -> tuple[T, ...]:
    """The items without repeats, in their first order."""
    return tuple(dict.fromkeys(items))


def normalise_email(value: str) -> str:
    email = value.strip().lower()
    if len(email) > MAX_EMAIL_LENGTH:
        raise ValueError(f"is longer than {MAX_EMAIL_LENGTH} characters")
    return email


def normalise_sector(value: str) -> str:
    section = value.strip().upper()
    if section not in SNI_SECTIONS:
        raise ValueError("is not an SNI section letter (A to U)")
    return section


def normalise_language_code(value: str) -> str:
    code = value.strip().lower()
    if code not in ISO_639_1:
        raise ValueError("is not an ISO 639-1 language code (two letters, e.g. sv, en, ar)")
    return code


def normalise_tags(tags: Iterable[str]) -> tuple[str, ...]:
    """Trimmed, without empty ones and without repeats that differ only in case."""
    kept: dict[str, str] = {}
    for tag in tags:
        cleaned = " ".join(plain_text(tag).split())
        if cleaned:
            kept.setdefault(cleaned.casefold(), cleaned)
    return tuple(kept.values())


# --- the aggregate ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Profile:
    """What a person tells about themselves; values arrive normalised (see the functions above)."""

    name: str
    email: str
    organisation_name: str
    organisation_type: OrganisationType
    role_title: str
    competences: tuple[Competence, ...]
    themes: tuple[Theme, ...]
    languages: tuple[str, ...]
    phone: str | None = None
    organisation_number: str | None = None
    sector: str | None = None
    tags: tuple[str, ...] = ()
    capacity: int = MIN_CAPACITY
    hours_per_month: int | None = None
    language: Language = Language.SV

    def __post_init__(self) -> None:
        problems = [
            ("competences", not self.competences, "at least one competence is required"),
            ("themes", not self.themes, "at least one theme is required"),
            ("languages", not self.languages, "at least one language is required"),
            ("capacity", not MIN_CAPACITY <= self.capacity <= MAX_CAPACITY, "must be between 1 and 5"),
            ("tags", len(self.tags) > MAX_TAGS, f"at most {MAX_TAGS} tags"),
        ]
        for field, failed, reason in problems:
            if failed:
                raise ValueError(f"{field}: {reason}")


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass
class Resource:
    id: uuid.UUID
    profile: Profile
    status: Status
    registered_by: str
    created_at: datetime
    updated_at: datetime
    confirmed_at: datetime | None = None
    # Only the hash of the one-time confirmation secret is kept, and only until it is used.
    confirmation_digest: str | None = None
    confirmation_expires_at: datetime | None = None
    withdrawal_reason: str | None = None

    @classmethod
    def register(cls, id: uuid.UUID, profile: Profile, confirmation_secret: str, now: datetime) -> Resource:
        """A person registered through the portal: nothing counts until they confirm their email."""
        resource = cls(id, profile, Status.PENDING_CONFIRMATION, SELF, created_at=now, updated_at=now)
        resource._await_confirmation(confirmation_secret, now)
        return resource

    @classmethod
    def register_directly(cls, id: uuid.UUID, profile: Profile, by: str, now: datetime) -> Resource:
        """A coordinator registered a municipality or other representative: active at once."""
        return cls(id, profile, Status.ACTIVE, by, created_at=now, updated_at=now, confirmed_at=now)

    @property
    def announced(self) -> bool:
        """Whether the other services know this resource (they heard ResourceRegistered)."""
        return self.status in ANNOUNCED

    def _check(self, action: Action) -> Status | None:
        allowed_from, to = TRANSITIONS[action]
        if self.status not in allowed_from:
            raise InvalidTransition("resource", self.status.value, action.value.replace("_", " "))
        return to

    def _await_confirmation(self, secret: str, now: datetime) -> None:
        self.confirmation_digest = digest(secret)
        self.confirmation_expires_at = now + CONFIRMATION_VALIDITY

    def register_again(self, profile: Profile, confirmation_secret: str, now: datetime) -> RegistrationOutcome:
        """The same email registered again: a new link while unconfirmed or withdrawn, else nothing changes."""
        if self.status in {Status.ACTIVE, Status.PAUSED}:
            return RegistrationOutcome.ALREADY_REGISTERED
        to = self._check(Action.REGISTER_AGAIN)
        assert to is not None
        self.profile = profile  # the latest submission is what the person wants confirmed
        self.status = to
        self.registered_by = SELF
        self.withdrawal_reason = None
        self.updated_at = now
        self._await_confirmation(confirmation_secret, now)
        return RegistrationOutcome.CONFIRMATION_SENT

    def link_state(self, confirmation_secret: str, now: datetime) -> LinkState:
        if self.status is not Status.PENDING_CONFIRMATION:
            return LinkState.ALREADY_CONFIRMED
        if self.confirmation_digest is None or not hmac.compare_digest(
            self.confirmation_digest, digest(confirmation_secret)
        ):
            return LinkState.REPLACED
        if self.confirmation_expires_at is None or now >= self.confirmation_expires_at:
            return LinkState.EXPIRED
        return LinkState.AWAITING_CONFIRMATION

    def confirm(self, confirmation_secret: str, now: datetime) -> bool:
        """Pending -> active; False (nothing changes) when the link was already used."""
        state = self.link_state(confirmation_secret, now)
        if state is LinkState.ALREADY_CONFIRMED:
            return False
        if state is LinkState.EXPIRED:
            raise ConfirmationLinkExpired("this confirmation link has expired")
        if state is LinkState.REPLACED:
            raise ConfirmationLinkReplaced("a newer confirmation link was sent")
        to = self._check(Action.CONFIRM)
        assert to is not None
        self.status = to
        self.confirmed_at = self.updated_at = now
        self.confirmation_digest = self.confirmation_expires_at = None
        return True

    def update(self, profile: Profile, now: datetime) -> None:
        self._check(Action.UPDATE)
        self.profile = profile
        self.updated_at = now

    def _move(self, action: Action, now: datetime) -> bool:
        """Apply a status change; False when the status was already reached (a repeat does nothing)."""
        _, to = TRANSITIONS[action]
        if self.status is to:
            return False
        to = self._check(action)
        assert to is not None
        self.status = to
        self.updated_at = now
        return True

    def pause(self, now: datetime) -> bool:
        return self._move(Action.PAUSE, now)

    def resume(self, now: datetime) -> bool:
        return self._move(Action.RESUME, now)

    def withdraw(self, reason: str | None, now: datetime) -> bool:
        withdrawn = self._move(Action.WITHDRAW, now)
        if withdrawn:
            self.withdrawal_reason = reason
        return withdrawn
