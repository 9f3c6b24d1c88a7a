"""Matching under test: its app on a throw-away PostgreSQL database and the real Kafka broker."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI

from services.matching.bootstrap import create_app
from services.matching.handlers import ProposeAccepted
from services.matching.handlers.contracts import resource_of
from services.matching.settings import Settings
from shared.contracts import Envelope, Event
from shared.contracts.resources import ResourceRegistered
from shared.inbox import Record
from shared.settings import PlatformSettings
from shared.testing import query, query_value, staff_headers

SECRET = "matching-tests-secret-of-at-least-32-characters"


class Clock:
    """The service's clock, moved by the tests (invitations expire after days)."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Matching:
    app: FastAPI
    client: httpx.AsyncClient
    settings: Settings
    namespace: str
    database_url: str
    clock: Clock
    bootstrap: str
    _producer: AIOKafkaProducer | None = field(default=None)

    @property
    def coordinator(self) -> dict[str, str]:
        return staff_headers(SECRET, "coordinator", "eva.coordinator@malmo.se")

    async def feed(self, *events: Event) -> None:
        """Hand events to matching's idempotent consumer directly (the same path as from Kafka, without the wait),
        each followed by a round of the formation job that an acceptance wakes (its own wake-up may come first)."""
        consumer = self.app.state.infra.consumers[0]
        for event in events:
            envelope = Envelope.wrap(event, producer="test").model_dump_json().encode()
            await consumer.handle_record(event.topic.value, event.key().encode(), envelope, {})
            await self.app.state.bus.handle(ProposeAccepted())

    async def feed_batch(self, *events: Event | tuple[Event, bytes]) -> list[tuple[Event, bytes]]:
        """Hand events to matching's consumer as ONE polled batch (as Kafka gives a replay), offsets in order;
        returns them with their envelopes, which a (event, envelope) pair delivers again."""
        consumer = self.app.state.infra.consumers[0]
        sent = [e if isinstance(e, tuple) else (e, Envelope.wrap(e, producer="test").model_dump_json().encode())
                for e in events]  # fmt: skip
        records = [Record(e.topic.value, e.key().encode(), value, {}, 0, offset)
                   for offset, (e, value) in enumerate(sent)]  # fmt: skip
        await consumer.handle_batch(records)
        return sent

    async def seed(self, *people: ResourceRegistered) -> None:
        """People in the pool without the event path (as a restored database would have them): nothing is retried."""
        async with self.app.state.bus.uow_factory() as uow:
            for person in people:
                await uow.resources.upsert(resource_of(person, active=True), self.clock())
            await uow.commit()

    async def publish(self, *events: Event | bytes, key: str | None = None) -> list[bytes]:
        """Put events on the real (namespaced) topics, as intake and resources would."""
        if self._producer is None:
            self._producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap)
            await self._producer.start()
        sent = []
        for event in events:
            if isinstance(event, bytes):  # an envelope sent before: delivered again
                envelope = Envelope.model_validate_json(event)
                topic = "meetmalmo.initiatives.v1" if "Initiative" in envelope.event_type else "meetmalmo.resources.v1"
                value, record_key = event, (key or "").encode()
            else:
                value = Envelope.wrap(event, producer="test").model_dump_json().encode()
                topic, record_key = event.topic.value, event.key().encode()
            await self._producer.send_and_wait(self.namespace + topic, value, key=record_key)
            sent.append(value)
        return sent

    async def scalar(self, sql: str) -> Any:
        return await query_value(self.database_url, sql)

    async def rows(self, sql: str) -> list[Any]:
        return [tuple(row.values()) for row in await query(self.database_url, sql)]

    async def outbox(self, event_type: str) -> list[dict[str, Any]]:
        """Payloads of the events matching wrote (in order)."""
        sql = "SELECT envelope FROM outbox WHERE event_type = :t ORDER BY id"
        return [json.loads(row["envelope"])["payload"] for row in await query(self.database_url, sql, t=event_type)]

    async def groups(self, initiative_id: uuid.UUID) -> list[dict[str, Any]]:
        answer = await self.client.get(
            "/api/v1/groups", params={"initiative_id": str(initiative_id)}, headers=self.coordinator
        )
        assert answer.status_code == 200, answer.text
        return answer.json()["items"]  # type: ignore[no-any-return]

    async def close(self) -> None:
        if self._producer is not None:
            await self._producer.stop()


@pytest.fixture
async def matching(
    service_database: Callable[[str], Awaitable[str]], kafka_bootstrap: str, topic_namespace: str
) -> AsyncIterator[Matching]:
    url = await service_database("matching")
    settings = Settings(
        database_url=url,
        link_secret=SECRET,
        public_rate_limit="1000/minute",
        sweep_seconds=3600,  # the tests run the sweep themselves
        platform=PlatformSettings(
            kafka_bootstrap=kafka_bootstrap,
            topic_namespace=topic_namespace,
            auth_jwt_secret=SECRET,
            consumer_backoff_seconds=0.05,
        ),
    )
    clock = Clock()
    app = create_app(settings, clock)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://matching.test") as client,
    ):
        found = Matching(app, client, settings, topic_namespace, url, clock, kafka_bootstrap)
        try:
            yield found
        finally:
            await found.close()
