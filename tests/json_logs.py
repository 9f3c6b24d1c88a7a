"""What a service writes to its log, read back as JSON lines (for tests that assert on log lines).

structlog's `capture_logs()` misses loggers that were cached before it started (the services configure
`cache_logger_on_first_use`), so a test that runs after a service was created would see nothing; this
reads the real output instead: the service's logging set-up, its handler writing into a buffer.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import sys
from collections.abc import Callable, Iterator
from typing import Any

from structlog.stdlib import ProcessorFormatter

from shared.logs import configure_logging

LogLines = Callable[[], list[dict[str, Any]]]


@contextlib.contextmanager
def json_logs(service: str = "probe-service", level: str = "INFO") -> Iterator[LogLines]:
    """Configure logging as a service does; yields `lines()`, the JSON lines written since its last call."""
    configure_logging(service, "json", level)
    [handler] = [h for h in logging.getLogger().handlers if isinstance(h.formatter, ProcessorFormatter)]
    assert isinstance(handler, logging.StreamHandler)
    buffer = io.StringIO()
    handler.setStream(buffer)

    def lines() -> list[dict[str, Any]]:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return [json.loads(line) for line in text.splitlines() if line.startswith("{")]

    try:
        yield lines
    finally:
        handler.setStream(sys.stderr)
