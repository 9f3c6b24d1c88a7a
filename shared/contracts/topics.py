"""Kafka topics, one per aggregate family; each event is keyed by its aggregate id."""

from enum import StrEnum

DLQ_SUFFIX = ".dlq"


class Topic(StrEnum):
    INITIATIVES = "meetmalmo.initiatives.v1"
    RESOURCES = "meetmalmo.resources.v1"
    GROUPS = "meetmalmo.groups.v1"
    NOTIFICATIONS = "meetmalmo.notifications.v1"


def dead_letter_topic(topic: str) -> str:
    return topic + DLQ_SUFFIX


ALL_TOPICS: tuple[str, ...] = tuple(name for topic in Topic for name in (topic.value, dead_letter_topic(topic.value)))
