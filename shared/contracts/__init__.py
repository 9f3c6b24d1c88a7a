"""Event contracts: one envelope, versioned payload models, and the topic each travels on."""

from shared.contracts import groups, initiatives, notifications, resources
from shared.contracts.envelope import Envelope, Event, UnknownEvent, event_class, parse_event
from shared.contracts.topics import ALL_TOPICS, DLQ_SUFFIX, Topic, dead_letter_topic

__all__ = [
    "ALL_TOPICS",
    "DLQ_SUFFIX",
    "Envelope",
    "Event",
    "Topic",
    "UnknownEvent",
    "dead_letter_topic",
    "event_class",
    "groups",
    "initiatives",
    "notifications",
    "parse_event",
    "resources",
]
