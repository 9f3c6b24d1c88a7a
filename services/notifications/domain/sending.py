"""Handing an email to the SMTP server: what is handed over, how a refusal is read, and how long
to wait while the server is away. The server itself is an adapter (adapters/smtp.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

OUTAGE_PROBE_MAX_SECONDS = 30.0  # probe at least every half minute, so mail flows soon after the server is back


class SendFailure(Exception):
    """The SMTP server did not take the email. The message never contains the recipient's address."""


class TemporaryFailure(SendFailure):
    """The server answered the email itself with a 4xx: worth another try later, and it uses up an attempt."""


class Deferred(TemporaryFailure):
    """Nothing of the email was handed over yet (a 4xx to MAIL or RCPT, e.g. greylisting): it waits and
    is tried again later without using up an attempt."""


class ServerUnavailable(Deferred):
    """The server cannot be used at all right now (unreachable, refused, timed out before DATA, refused our
    login or STARTTLS): the email waits without using up an attempt, and the sender waits for the server."""


class PermanentFailure(SendFailure):
    """The server refused this email for good: a 5xx reply."""


class OutcomeUnknown(SendFailure):
    """The message was handed over (DATA) but the server's answer never came (a timeout, a dropped
    connection): it may or may not have been taken. Never retried automatically, so never sent twice;
    staff see it and may send it again deliberately."""


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 30
    base_seconds: float = 2.0
    max_seconds: float = 600.0
    give_up_after: timedelta = timedelta(days=3)  # an email still waiting this long after it was queued fails

    def delay(self, attempts: int) -> timedelta:
        """Exponential backoff after the `attempts`-th failed try, capped."""
        return timedelta(seconds=min(self.max_seconds, self.base_seconds * 2 ** max(0, attempts - 1)))


@dataclass(frozen=True)
class OutgoingEmail:
    recipient: str
    subject: str
    text: str
    html: str
    message_id: str
    language: str
    list_unsubscribe: str | None = None  # non-essential emails only: the one-click unsubscribe URL
    trace_context: str | None = None  # W3C traceparent: the trace the send belongs to


class Mailer(Protocol):
    """Sends one email; raises PermanentFailure, TemporaryFailure, Deferred, ServerUnavailable or
    OutcomeUnknown. It may keep connections open between emails; `close()` ends them."""

    async def send(self, email: OutgoingEmail) -> None: ...

    async def close(self) -> None: ...


@dataclass
class Outage:
    """Rounds in a row that found the server away. While it lasts the sender probes with one delivery
    a round, waiting longer each time, so a long outage does not use up every delivery's attempts."""

    rounds: int = 0

    def continues(self, policy: RetryPolicy) -> float:
        """One more round found the server away: the seconds until the next probe."""
        self.rounds += 1
        return min(policy.delay(self.rounds).total_seconds(), OUTAGE_PROBE_MAX_SECONDS)

    def ended(self) -> None:
        self.rounds = 0
