"""Telling an outage from a bad message, and reporting an outage the way an operator reads it.

An *infrastructure* error means something the work needs (the database, the broker, the network)
is away for now: the work waits and tries again, without limit, and never counts it against the
message. Anything else (validation, a domain rule, a bug) is deterministic: it fails again on every
try, so it counts towards the dead-letter topic.
"""

from __future__ import annotations

import errno
import socket
import time

import asyncpg
import structlog
from aiokafka import errors as kafka_errors
from pydantic import ValidationError
from sqlalchemy import exc as sa_exc

from shared.logs import redact_text

log = structlog.get_logger(__name__)

_INFRASTRUCTURE = (
    sa_exc.OperationalError,  # connection refused or dropped, server shutting down, SQLite busy or locked
    sa_exc.InterfaceError,  # the connection is gone
    sa_exc.DisconnectionError,
    sa_exc.TimeoutError,  # no connection free in the pool
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.OperatorInterventionError,  # "the database system is starting up / shutting down"
    kafka_errors.KafkaConnectionError,
    kafka_errors.KafkaTimeoutError,
    kafka_errors.NodeNotReadyError,
    kafka_errors.RequestTimedOutError,
    ConnectionError,  # refused, reset, aborted, broken pipe
    TimeoutError,
    socket.gaierror,  # the host name does not resolve (DNS away)
)
# What an outage arrives as in a request (the kinds `is_infrastructure_error` then tells apart): the web API answers
# these 503 with Retry-After when they are an outage, and leaves any other error of the same kinds a 500.
OUTAGE_ERRORS: tuple[type[Exception], ...] = (
    sa_exc.SQLAlchemyError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    kafka_errors.KafkaError,
    OSError,
)
OUTAGE_RETRY_AFTER_SECONDS = 5

# A socket error that means "not reachable now" (a plain OSError, e.g. asyncpg's "Multiple exceptions"
# when every address of a host refused); any other OSError (a missing file) is a bug, not an outage.
_NETWORK_ERRNOS = frozenset(
    {errno.ECONNREFUSED, errno.ECONNRESET, errno.ECONNABORTED, errno.EHOSTUNREACH, errno.ENETUNREACH,
     errno.ENETDOWN, errno.ETIMEDOUT, errno.EPIPE}
)  # fmt: skip
_NETWORK_MESSAGES = ("Connect call failed", "Multiple exceptions", "Connection refused")


def is_infrastructure_error(error: BaseException) -> bool:
    """True when `error` (or what caused it) says a dependency is away, not that the work is wrong."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, _INFRASTRUCTURE):
            return True
        if isinstance(current, sa_exc.DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, kafka_errors.KafkaError) and current.retriable:
            return True
        if isinstance(current, OSError) and (
            current.errno in _NETWORK_ERRNOS or any(sign in str(current) for sign in _NETWORK_MESSAGES)
        ):
            return True
        current = current.__cause__ or current.__context__
    return False


def describe_error(error: BaseException, limit: int = 500) -> str:
    """The error's type and a message safe for logs and headers: no SQL parameters, no input values,
    no email addresses or phone numbers."""
    if isinstance(error, sa_exc.StatementError):
        # str() of a statement error carries the SQL and its parameters; the driver's first line does not.
        original = error.orig if error.orig is not None else error
        message = f"{type(original).__name__}: {str(original).splitlines()[0] if str(original) else ''}"
        # A PostgreSQL DETAIL line ("Key (email)=(...)") is dropped with everything after the first line.
    elif isinstance(error, ValidationError):
        message = f"{error.error_count()} validation error(s): " + "; ".join(
            f"{'.'.join(str(part) for part in err['loc']) or 'value'}: {err['msg']}"
            for err in error.errors(include_input=False, include_url=False)
        )
    else:
        text = str(error).splitlines()[0] if str(error) else ""
        message = text
    return redact_text(message)[:limit]


class Outage:
    """One line when a dependency goes away, one every `every_seconds` while it stays away (with how
    long it has lasted), one when it is back: an outage of an hour is a handful of lines, not thousands."""

    def __init__(self, what: str, *, every_seconds: float = 60.0, **fields: str) -> None:
        self.what = what
        self.every_seconds = every_seconds
        self.fields = fields
        self.since: float | None = None
        self._last_line = 0.0
        self.failures = 0

    @property
    def ongoing(self) -> bool:
        return self.since is not None

    def duration(self) -> float:
        return 0.0 if self.since is None else time.monotonic() - self.since

    def failed(self, error: BaseException) -> None:
        now = time.monotonic()
        self.failures += 1
        if self.since is None:
            self.since = self._last_line = now
            log.warning(
                f"{self.what}.outage_started", error_type=type(error).__name__, error=describe_error(error, 200),
                **self.fields,
            )  # fmt: skip
        elif now - self._last_line >= self.every_seconds:
            self._last_line = now
            log.warning(
                f"{self.what}.outage_continues", seconds=round(now - self.since, 1), failures=self.failures,
                error_type=type(error).__name__, **self.fields,
            )  # fmt: skip

    def succeeded(self) -> None:
        if self.since is None:
            return
        log.warning(
            f"{self.what}.outage_ended", seconds=round(time.monotonic() - self.since, 1), failures=self.failures,
            **self.fields,
        )  # fmt: skip
        self.since, self.failures = None, 0
