"""The AsyncAPI document of every topic: each event type, its payload schema and its key."""

from __future__ import annotations

from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI

from shared.contracts import Envelope, Event, dead_letter_topic
from shared.contracts.topics import Topic


def asyncapi_json() -> str:
    broker = KafkaBroker("127.0.0.1:9092")
    for event_type, cls in sorted(Event._registry.items()):
        broker.publisher(
            cls.topic.value,
            title=f"{cls.topic.value}:{event_type}",
            description=(
                f"{event_type} v{cls.schema_version}, keyed by {cls.key_field}. Travels as an Envelope whose "
                f"payload is this schema. {(cls.__doc__ or '').strip()}"
            ),
            schema=cls,
        )
    for topic in Topic:
        broker.publisher(
            dead_letter_topic(topic.value),
            title=dead_letter_topic(topic.value),
            description="Messages a consumer could not process: the original bytes, headers dlq-error, "
            "dlq-error-type, dlq-consumer, dlq-original-topic.",
            schema=Envelope,
        )
    spec = AsyncAPI(
        broker,
        title="Meet Malmö events",
        version="1.0.0",
        description="Integration events between intake, resources, matching and notifications.",
    )
    return spec.to_specification().to_json()
