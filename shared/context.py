"""Request- and message-scoped context: which correlation and cause the current work belongs to."""

from __future__ import annotations

import uuid
from contextvars import ContextVar

correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)
causation_id: ContextVar[str | None] = ContextVar("causation_id", default=None)


def current_correlation_id() -> str:
    """The correlation id of the work in progress, or a fresh one when nothing started it."""
    return correlation_id.get() or str(uuid.uuid4())
