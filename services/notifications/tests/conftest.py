"""Notifications under test: a real SMTP server (aiosmtpd) on a free port, the app on PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope as SmtpEnvelope
from fastapi import FastAPI

from services.notifications.bootstrap import create_app
from services.notifications.db.unit_of_work import NotificationsUnitOfWork
from services.notifications.settings import Settings
from shared.auth import issue_local_token
from shared.contracts import Envelope, Event
from shared.messagebus import MessageBus
from shared.settings import PlatformSettings
from shared.testing import Mailbox, eventually, execute, free_port, query

from .factories import COORDINATORS

SECRET = "notifications-tests-secret-of-32-characters"
UNREACHABLE_KAFKA = "127.0.0.1:1"  # the relay then keeps NotificationSent/Failed in the outbox to look at


@dataclass
class RecordingHandler(Mailbox):
    """Keeps every message; answers RCPT for chosen addresses with chosen replies (e.g. 550, 451)."""

    refusals: dict[str, list[str]] = field(default_factory=dict)
    permanent: dict[str, str] = field(default_factory=dict)
    answer_data_after: float = 0.0  # seconds the server keeps the client waiting for its reply to a message
    messages_handed_over: int = 0  # messages whose DATA the server read, answered or not

    async def handle_DATA(self, server: Any, session: Any, envelope: SmtpEnvelope) -> str:  # noqa: N802
        self.messages_handed_over += 1
        if self.answer_data_after:
            await asyncio.sleep(self.answer_data_after)  # the server takes it, but the client has given up waiting
        return await super().handle_DATA(server, session, envelope)

    def refuse(self, address: str, *replies: str) -> None:
        """Answer RCPT TO `address` with these replies in turn, then accept it."""
        self.refusals[address] = list(replies)

    def refuse_always(self, address: str, reply: str) -> None:
        self.permanent[address] = reply

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: SmtpEnvelope, address: str, rcpt_options: list[str]
    ) -> str:
        if address in self.permanent:
            return self.permanent[address]
        if self.refusals.get(address):
            return self.refusals[address].pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"


@dataclass
class SmtpServer:
    port: int
    handler: RecordingHandler = field(default_factory=RecordingHandler)
    controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def messages(self) -> list[EmailMessage]:
        return self.handler.messages


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A running SMTP server that records what it receives."""
    server = SmtpServer(free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def smtp_down() -> Iterator[SmtpServer]:
    """An SMTP server that is not running yet (the test starts it)."""
    server = SmtpServer(free_port())
    yield server
    server.stop()


@dataclass
class Service:
    app: FastAPI
    client: httpx.AsyncClient
    settings: Settings
    database_url: str
    lifespan: Any = None

    async def stop(self) -> None:
        """Shut the service down as a deployment would (its database stays)."""
        if self.lifespan is not None:
            await self.client.aclose()
            await self.lifespan.__aexit__(None, None, None)
            self.lifespan = None

    @property
    def bus(self) -> MessageBus[NotificationsUnitOfWork]:
        return self.app.state.bus  # type: ignore[no-any-return]

    async def deliver(self, event: Event, envelope: Envelope | None = None, producer: str = "intake") -> Envelope:
        """Hand an event to the idempotent consumer exactly as the Kafka subscriber does."""
        envelope = envelope or Envelope.wrap(event, producer=producer)
        [consumer] = self.app.state.infra.consumers
        await consumer.handle_record(event.topic.value, event.key().encode(), envelope.model_dump_json().encode(), {})
        return envelope

    async def rows(self, sql: str, **params: Any) -> list[dict[str, Any]]:
        return await query(self.database_url, sql, **params)

    async def execute(self, sql: str, **params: Any) -> None:
        await execute(self.database_url, sql, **params)

    async def settled(self, expected: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Wait until `expected` deliveries exist and none is queued; return them."""

        async def check() -> list[dict[str, Any]] | None:
            found = await self.rows("SELECT * FROM deliveries ORDER BY created_at, template")
            done = len(found) == expected and all(row["status"] != "queued" for row in found)
            return found if done else None

        return await eventually(check, timeout=timeout)  # type: ignore[no-any-return]

    async def outbox_events(self) -> list[Envelope]:
        rows = await self.rows("SELECT envelope FROM outbox ORDER BY id")
        return [Envelope.model_validate_json(row["envelope"]) for row in rows]

    def token(self, *roles: str) -> dict[str, str]:
        token = issue_local_token(self.settings.platform, email="eva.coordinator@malmo.se", roles=list(roles))
        return {"Authorization": f"Bearer {token}"}


ServiceFactory = Callable[..., Awaitable[Service]]


@pytest.fixture
async def notifications(service_database: Callable[[str], Awaitable[str]]) -> AsyncIterator[ServiceFactory]:
    """Factory: the notifications app on a fresh database, sending to the given SMTP port."""
    services: list[Service] = []

    async def start(
        smtp_port: int,
        kafka_bootstrap: str = UNREACHABLE_KAFKA,
        namespace: str = "",
        database_url: str | None = None,
        **changes: Any,
    ) -> Service:
        url = database_url or await service_database("notifications")
        fields: dict[str, Any] = {
            "database_url": url,
            "smtp_port": smtp_port,
            "sender": "Meet Malmö <noreply@meetmalmo.se>",
            "coordinator_emails": list(COORDINATORS),
            "retry_base_seconds": 0.05,
            "retry_max_seconds": 0.2,
            "send_poll_seconds": 0.2,
            "smtp_timeout_seconds": 2.0,
            "platform": PlatformSettings(
                kafka_bootstrap=kafka_bootstrap,
                topic_namespace=namespace,
                auth_jwt_secret=SECRET,
                consumer_backoff_seconds=0.01,
            ),
        }
        settings = Settings(**(fields | changes))
        app = create_app(settings)
        lifespan = app.router.lifespan_context(app)
        await lifespan.__aenter__()
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://notifications.test")
        services.append(Service(app, client, settings, url, lifespan))
        return services[-1]

    yield start
    for service in reversed(services):
        await service.stop()


@pytest.fixture
async def service(notifications: ServiceFactory, smtp: SmtpServer) -> Service:
    """The service on a fresh database, sending to the running SMTP server."""
    return await notifications(smtp.port)
