"""structlog set-up: JSON lines (or console), correlation and trace ids bound, personal data redacted."""

from __future__ import annotations

import logging
import re
import sys
import time
from collections.abc import MutableMapping
from typing import Any

import structlog
from opentelemetry import trace

from shared import context

# Keys whose values are personal data; their values never reach a log line.
PERSONAL_KEYS = frozenset(
    {
        "name",
        "email",
        "phone",
        "contact_name",
        "contact_email",
        "contact_phone",
        "to",
        "recipient",
        "recipients",
        "address",
        "body",
        "message_body",
        "organisation_number",
    }
)
EMAIL_PATTERN = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
PHONE_PATTERN = re.compile(r"\+\d[\d ]{7,15}\d")
REDACTED = "[redacted]"


def redact_text(text: str) -> str:
    return PHONE_PATTERN.sub(REDACTED, EMAIL_PATTERN.sub(REDACTED, text))


def redact_personal_data(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key, value in list(event_dict.items()):
        if key in PERSONAL_KEYS:
            event_dict[key] = REDACTED
        elif isinstance(value, str):
            event_dict[key] = redact_text(value)
    return event_dict


def add_context_ids(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    if (correlation := context.correlation_id.get()) is not None:
        event_dict.setdefault("correlation_id", correlation)
    span_context = trace.get_current_span().get_span_context()
    if span_context.is_valid:
        event_dict.setdefault("trace_id", format(span_context.trace_id, "032x"))
        event_dict.setdefault("span_id", format(span_context.span_id, "016x"))
    return event_dict


# Lines aiokafka logs at ERROR or WARNING while a freshly started broker elects its group coordinator:
# they mean "not yet", not "broken", so for the first minute they are DEBUG lines.
STARTUP_NOISE = (
    "GroupCoordinatorNotAvailable",
    "CoordinatorNotAvailable",
    "NotCoordinatorForGroup",
    "Marking the coordinator dead",
)
STARTUP_SECONDS = 60.0


class StartupNoise(logging.Filter):
    """Downgrades the broker's cold-start coordinator errors to DEBUG during the first minute."""

    def __init__(self, window_seconds: float = STARTUP_SECONDS) -> None:
        super().__init__()
        self._until = time.monotonic() + window_seconds

    def filter(self, record: logging.LogRecord) -> bool:
        if (
            record.levelno >= logging.WARNING
            and record.name.startswith("aiokafka")
            and time.monotonic() < self._until
            and any(noise in record.getMessage() for noise in STARTUP_NOISE)
        ):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            record.msg, record.args = "broker still starting: %s", (record.getMessage(),)
        return record.levelno >= logging.getLogger().getEffectiveLevel()


# What aiokafka and FastStream log, again and again, while the broker cannot be reached.
BROKER_AWAY = (
    "Unable connect to",
    "Unable to update metadata",
    "Unable to request metadata",
    "Connect call failed",
    "Connection refused",
    "NodeNotReadyError",
    "KafkaConnectionError",
    "RequestTimedOutError",
    "Failed fetch messages",
    "Heartbeat session expired",
    "Error sending",
    "Marking the coordinator dead",
    "Coordinator dead",
)


class BrokerOutage(logging.Filter):
    """Collapses a broker outage's flood of aiokafka/FastStream connection errors into three kinds of
    line: `broker.outage_started` (the first error), `broker.outage_continues` every `every_seconds` with
    how long it has lasted and how many lines were held back, and `broker.outage_ended` (`ended()`, called
    when the broker answers again). Other lines pass untouched."""

    def __init__(self, every_seconds: float = 60.0, clock: Any = time.monotonic) -> None:
        super().__init__()
        self.every_seconds = every_seconds
        self._clock = clock
        self.since: float | None = None
        self._last_line = 0.0
        self.held_back = 0
        self._log = structlog.get_logger("shared.logs")

    @property
    def ongoing(self) -> bool:
        return self.since is not None

    @staticmethod
    def is_broker_away(record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING or not record.name.startswith(("aiokafka", "kafka", "faststream")):
            return False
        text = record.getMessage()
        error = record.exc_info[1] if record.exc_info else None
        if error is not None:
            # FastStream's "Kafka error occurred" is an outage only with a connection error; with another
            # (offsets out of range: a group that fell out of retention) it is a line of its own.
            return any(sign in f"{type(error).__name__} {error}" for sign in BROKER_AWAY)
        return any(sign in text for sign in BROKER_AWAY)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.is_broker_away(record):
            return True
        now = self._clock()
        if self.since is None:
            self.since = self._last_line = now
            self.held_back = 0
            self._log.warning("broker.outage_started", first_error=redact_text(record.getMessage())[:300])
        elif now - self._last_line >= self.every_seconds:
            self._last_line = now
            self._log.warning(
                "broker.outage_continues", seconds=round(now - self.since, 1), lines_held_back=self.held_back
            )
        else:
            self.held_back += 1
        return False

    def ended(self) -> None:
        """The broker answers again: one line with how long it was away (nothing when it was not)."""
        if self.since is None:
            return
        seconds, held = round(self._clock() - self.since, 1), self.held_back
        self.since, self.held_back = None, 0
        self._log.warning("broker.outage_ended", seconds=seconds, lines_held_back=held)


BROKER_OUTAGE = BrokerOutage()
"""The process's one broker-outage filter (on the root handler); the service calls `ended()`."""


def configure_logging(service: str, fmt: str = "json", level: str = "INFO") -> None:
    """Route structlog and the standard library's logging through the same processors."""
    shared_processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        add_context_ids,
        structlog.processors.format_exc_info,
        redact_personal_data,
    ]
    renderer: Any = (
        structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
        if fmt == "console"
        else structlog.processors.JSONRenderer()
    )
    structlog.configure(
        # filter_by_level first: a DEBUG line below the level costs no processing.
        processors=[
            structlog.stdlib.filter_by_level,
            *shared_processors,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared_processors,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    handler.addFilter(StartupNoise())
    handler.addFilter(BROKER_OUTAGE)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # FastStream gives its logger a colourised handler of its own; its lines go through ours instead.
    faststream = logging.getLogger("faststream")
    faststream.handlers.clear()
    faststream.propagate = True
    faststream.setLevel(logging.NOTSET)
    for noisy in ("aiokafka", "kafka", "uvicorn.access", "aiosqlite", "mail.log"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    structlog.contextvars.bind_contextvars(service=service)
