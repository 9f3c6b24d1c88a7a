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
