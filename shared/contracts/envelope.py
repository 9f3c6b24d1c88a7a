"""The envelope every event travels in, and the registry of versioned event payloads."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared import context
from shared.contracts.topics import Topic


class Event(BaseModel):
    """Base of every event payload. Subclasses declare their topic, version and aggregate key field."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    topic: ClassVar[Topic]
    schema_version: ClassVar[int] = 1
    key_field: ClassVar[str]

    _registry: ClassVar[dict[str, type[Event]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # A family base (InitiativeEvent, ...) marks itself abstract; every concrete event registers.
        if hasattr(cls, "topic") and not cls.__dict__.get("abstract", False):
            Event._registry[cls.__name__] = cls

    @classmethod
    def event_type(cls) -> str:
        return cls.__name__

    def key(self) -> str:
        return str(getattr(self, self.key_field))


class UnknownEvent(ValueError):
    """An envelope whose event_type (or version) this code does not know."""


class Envelope(BaseModel):
    """Metadata common to every event; the payload is the event model's JSON."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    event_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    event_type: str
    schema_version: int = Field(ge=1)
    occurred_at: AwareDatetime = Field(default_factory=lambda: datetime.now(UTC))
    producer: str
    correlation_id: str
    causation_id: str | None = None
    payload: dict[str, Any]

    @classmethod
    def wrap(cls, event: Event, *, producer: str) -> Envelope:
        """Envelope an event, carrying the correlation and cause of the work in progress."""
        return cls(
            event_type=event.event_type(),
            schema_version=event.schema_version,
            producer=producer,
            correlation_id=context.current_correlation_id(),
            causation_id=context.causation_id.get(),
            payload=event.model_dump(mode="json"),
        )


def event_class(event_type: str) -> type[Event]:
    try:
        return Event._registry[event_type]
    except KeyError:
        raise UnknownEvent(f"unknown event type {event_type!r}") from None


def parse_event(envelope: Envelope) -> Event:
    """The typed payload; newer minor fields are ignored, a newer major version is refused."""
    cls = event_class(envelope.event_type)
    if envelope.schema_version > cls.schema_version:
        raise UnknownEvent(
            f"{envelope.event_type} v{envelope.schema_version} is newer than known v{cls.schema_version}"
        )
    return cls.model_validate(envelope.payload)
