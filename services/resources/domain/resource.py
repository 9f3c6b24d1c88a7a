"""The Resource aggregate: a person who offers time and competence, their status and its transitions. No I/O."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from services.resources.domain.profile import Profile
from shared.errors import DomainError, InvalidTransition

CONFIRMATION_VALIDITY = timedelta(days=7)
SELF = "self"  # registered_by for people who registered and confirmed themselves


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


# Which statuses each action may start from, and where it leads (None: the status stays). Erasure is
# allowed from any status and leaves nothing behind, so it is no transition: the registry deletes the row.
TRANSITIONS: dict[Action, tuple[frozenset[Status], Status | None]] = {
    # A withdrawn person comes back by the link that registering again mailed to the address on file.
    Action.CONFIRM: (frozenset({Status.PENDING_CONFIRMATION, Status.WITHDRAWN}), Status.ACTIVE),
    Action.PAUSE: (frozenset({Status.ACTIVE}), Status.PAUSED),
    Action.RESUME: (frozenset({Status.PAUSED}), Status.ACTIVE),
    Action.WITHDRAW: (frozenset({Status.ACTIVE, Status.PAUSED}), Status.WITHDRAWN),
    Action.UPDATE: (frozenset({Status.PENDING_CONFIRMATION, Status.ACTIVE, Status.PAUSED}), None),
    # Registering again with the same email changes no profile (see Resource.register_again).
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
    # The profile link names this version: renewing it makes every link sent before stop working.
    link_version: int = 0

    def renew_link(self, now: datetime) -> None:
        """The person asked for a fresh profile link: the ones already sent (forwarded, leaked) are revoked."""
        self.link_version += 1
        self.updated_at = now

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

    def register_again(self, confirmation_secret: str, now: datetime) -> RegistrationOutcome:
        """The same email registered again, by anyone: nothing they wrote is taken (they may not own the address)
        and the status stays. An unconfirmed or withdrawn registration gets a new confirmation link to the
        address on file (pressing it confirms, or brings the withdrawn person back, with the details on file);
        the owner of an active or paused one gets their profile link instead."""
        if self.status not in {Status.PENDING_CONFIRMATION, Status.WITHDRAWN}:
            return RegistrationOutcome.ALREADY_REGISTERED
        self.updated_at = now
        self._await_confirmation(confirmation_secret, now)
        return RegistrationOutcome.CONFIRMATION_SENT

    def link_state(self, confirmation_secret: str, now: datetime) -> LinkState:
        coming_back = self.status is Status.WITHDRAWN and self.confirmation_digest is not None
        if self.status is not Status.PENDING_CONFIRMATION and not coming_back:
            return LinkState.ALREADY_CONFIRMED
        if self.confirmation_digest is None or not hmac.compare_digest(
            self.confirmation_digest, digest(confirmation_secret)
        ):
            return LinkState.REPLACED
        if self.confirmation_expires_at is None or now >= self.confirmation_expires_at:
            return LinkState.EXPIRED
        return LinkState.AWAITING_CONFIRMATION

    def confirm(self, confirmation_secret: str, now: datetime) -> bool:
        """Pending (or withdrawn, with a link from registering again) -> active; False (nothing changes) when the
        link was already used."""
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
        self.withdrawal_reason = None
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
