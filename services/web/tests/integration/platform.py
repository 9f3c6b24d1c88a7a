"""The whole platform for the browser tests: the four services under uvicorn on real ports (each on its
own migrated PostgreSQL database, all on one Kafka topic namespace), notifications sending to a real
SMTP server that keeps what it receives, and the web in front, whose address every email link opens.

The services are started by name (importlib), as shared.testing does: the web imports no service, its
tests only run them. tests/test_web_journey.py uses the same platform.
"""

from __future__ import annotations

import contextlib
import importlib
import re
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import httpx
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope as SmtpEnvelope

from services.web.bootstrap import create_app as create_web
from services.web.settings import Settings as WebSettings
from shared.settings import PlatformSettings
from shared.testing import drop_database, eventually, free_port, migrated_database, serve_in_thread, staff_headers

SERVICES = ("intake", "resources", "matching", "notifications")
SECRET = "web-browser-tests-secret-of-at-least-32-characters"
COORDINATOR = "eva.coordinator@malmo.se"
WAIT = 20.0  # seconds any one step may take to show (they take well under one)
LINK = re.compile(r"https?://[^\s<>\"]+")


@dataclass
class Mailbox:
    """An aiosmtpd handler that keeps every message it accepts."""

    received: list[EmailMessage] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: SmtpEnvelope) -> str:  # noqa: N802 - aiosmtpd's hook
        message = message_from_bytes(envelope.original_content or b"", policy=policy.default)
        assert isinstance(message, EmailMessage)
        with self.lock:
            self.received.append(message)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.received if m["To"] == address]

    async def one(self, address: str, subject: str) -> EmailMessage:
        """The email to `address` whose subject starts with `subject`, once it has arrived (exactly one)."""
        try:
            found: list[EmailMessage] = await eventually(
                lambda: [m for m in self.to(address) if subject_of(m).startswith(subject)], timeout=WAIT
            )
        except AssertionError:
            got = [subject_of(m) for m in self.to(address)]
            raise AssertionError(f"no email {subject!r} to {address} within {WAIT}s; it got {got}") from None
        assert len(found) == 1, f"{len(found)} emails {subject!r} to {address}"
        return found[0]


def subject_of(message: EmailMessage) -> str:
    """The subject as read: Python's email package folds a long subject before an encoded word leaving two
    spaces where there was one (CPython's folder keeps the space and adds the fold's), so spaces are one."""
    return " ".join(str(message["Subject"]).split())


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert isinstance(part, EmailMessage)
    return str(part.get_content())


def links_in(message: EmailMessage, path: str = "") -> list[str]:
    """The links in the email's text, those whose path contains `path`."""
    return [link for link in LINK.findall(text_of(message)) if path in link]


def link_after(message: EmailMessage, label: str) -> str:
    """The link on the line after `label` (e.g. "Tacka ja:")."""
    found = re.search(re.escape(label) + r"\s*\n(\S+)", text_of(message))
    assert found, f"no link after {label!r} in {message['Subject']!r}"
    return found.group(1)


@dataclass
class Platform:
    web: str
    api: dict[str, str]  # service name -> its base URL
    databases: dict[str, str]
    mailbox: Mailbox
    client: httpx.AsyncClient  # for what a test sets up through the APIs rather than the pages

    def staff(self, role: str = "coordinator", email: str = COORDINATOR) -> dict[str, str]:
        """The Authorization header of a staff token the services accept."""
        return staff_headers(SECRET, role=role, email=email)


@contextlib.contextmanager
def smtp_server(mailbox: Mailbox) -> Iterator[int]:
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def service_settings(name: str, **values: Any) -> Any:
    return importlib.import_module(f"services.{name}.bootstrap").Settings(**values)


def service_app(name: str, settings: Any) -> Any:
    return importlib.import_module(f"services.{name}.bootstrap").create_app(settings)


@contextlib.asynccontextmanager
async def running_platform(
    postgres_server: str, kafka_bootstrap: str, namespace: str, *, coordinators: tuple[str, ...] = (COORDINATOR,)
) -> AsyncIterator[Platform]:
    """Start everything on free ports; stop it and drop its databases afterwards."""
    ports = {name: free_port() for name in ("web", *SERVICES)}
    url = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    platform = PlatformSettings(
        kafka_bootstrap=kafka_bootstrap,
        topic_namespace=namespace,
        auth_jwt_secret=SECRET,
        outbox_poll_seconds=0.2,
        consumer_backoff_seconds=0.01,
        web_public_url=url["web"],  # every link in an email opens a page on the web
    )
    databases = {name: await migrated_database(postgres_server, name) for name in SERVICES}
    mailbox = Mailbox()
    try:
        with contextlib.ExitStack() as running:
            smtp_port = running.enter_context(smtp_server(mailbox))
            special: dict[str, dict[str, Any]] = {
                "matching": {"sweep_seconds": 1.0},
                "notifications": {
                    "smtp_host": "127.0.0.1",
                    "smtp_port": smtp_port,
                    "smtp_timeout_seconds": 2.0,
                    "coordinator_emails": list(coordinators),
                    "retry_base_seconds": 0.05,
                    "retry_max_seconds": 0.5,
                    "send_poll_seconds": 0.2,
                },
            }
            for name in SERVICES:
                settings = service_settings(
                    name,
                    database_url=databases[name],
                    public_url=url[name],
                    link_secret=SECRET,
                    public_rate_limit="100000/minute",  # every page's call comes from the web's one address
                    platform=platform,
                    **special.get(name, {}),
                )
                assert running.enter_context(serve_in_thread(service_app(name, settings), ports[name])) == url[name]
            web = WebSettings(
                public_url=url["web"],
                intake_url=url["intake"],
                resources_url=url["resources"],
                matching_url=url["matching"],
                notifications_url=url["notifications"],
                session_secret=SECRET,
                platform=platform,
            )
            running.enter_context(serve_in_thread(create_web(web), ports["web"]))
            async with httpx.AsyncClient(timeout=10.0) as client:
                yield Platform(url["web"], {n: url[n] for n in SERVICES}, databases, mailbox, client)
    finally:
        for database in databases.values():
            await drop_database(database)


@contextlib.contextmanager
def web_without_services() -> Iterator[str]:
    """The web alone, every service it would ask unreachable (a port nobody listens on)."""
    nowhere = f"http://127.0.0.1:{free_port()}"
    settings = WebSettings(
        intake_url=nowhere,
        resources_url=nowhere,
        matching_url=nowhere,
        notifications_url=nowhere,
        service_timeout_seconds=2.0,
        session_secret=SECRET,
        platform=PlatformSettings(auth_jwt_secret=SECRET),
    )
    with serve_in_thread(create_web(settings), free_port()) as url:
        yield url
