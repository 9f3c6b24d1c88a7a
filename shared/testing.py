"""Test support on the real parts: throw-away PostgreSQL databases, Kafka readers, a namespace per test,
an SMTP server that keeps what it receives, and the four services running together."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import inspect
import json
import re
import secrets
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope as SmtpEnvelope
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from shared.auth import issue_local_token
from shared.migrations import upgrade
from shared.settings import PlatformSettings
from shared.tracing import configure_tracing

_namespaces: set[str] = set()


def new_namespace() -> str:
    """A fresh topic prefix for one test or module; the session deletes its topics at the end."""
    namespace = f"test.{uuid.uuid4().hex[:8]}."
    _namespaces.add(namespace)
    return namespace


def namespaces_used() -> tuple[str, ...]:
    return tuple(_namespaces)


@dataclass(frozen=True)
class Record:
    topic: str
    key: bytes | None
    value: bytes
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.value)


async def create_database(server_url: str, prefix: str) -> str:
    """Create an empty database on the server and return its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    engine = create_async_engine(f"{server_url}/postgres", isolation_level="AUTOCOMMIT")
    async with engine.connect() as connection:
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    await engine.dispose()
    return f"{server_url}/{name}"


async def drop_database(url: str) -> None:
    parsed = make_url(url)
    engine = create_async_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    async with engine.connect() as connection:
        await connection.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
    await engine.dispose()


async def migrated_database(server_url: str, service: str) -> str:
    url = await create_database(server_url, f"test_{service}")
    await asyncio.to_thread(upgrade, service, url)
    return url


async def read_records(
    bootstrap: str,
    topic: str,
    until: Callable[[list[Record]], bool],
    timeout: float = 30.0,
) -> list[Record]:
    """Read `topic` from the beginning until `until(records)` holds; fail after `timeout` seconds."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    records: list[Record] = []
    try:
        async with asyncio.timeout(timeout):
            while not until(records):
                batch = await consumer.getmany(timeout_ms=200)
                for messages in batch.values():
                    records.extend(
                        Record(
                            m.topic,
                            m.key,
                            m.value or b"",
                            {k: v.decode() for k, v in (m.headers or ())},
                        )
                        for m in messages
                    )
    except TimeoutError:
        raise AssertionError(f"condition not met on {topic} within {timeout}s; saw {len(records)} records") from None
    finally:
        await consumer.stop()
    return records


async def eventually(check: Callable[[], Any], timeout: float = 20.0, interval: float = 0.1) -> Any:
    """Call `check()` (awaiting it if it is a coroutine) until it is truthy; fail after `timeout` seconds."""
    try:
        async with asyncio.timeout(timeout):
            while True:
                result = check()
                if inspect.isawaitable(result):
                    result = await result
                if result:
                    return result
                await asyncio.sleep(interval)
    except TimeoutError:
        raise AssertionError(f"condition not met within {timeout}s") from None


def _answers_ready(client: httpx.Client) -> bool:
    # A loaded machine may answer a starting app's /readyz late: that is "not yet", not a failure.
    try:
        return client.get("/readyz").status_code == 200
    except httpx.TimeoutException:
        return False


@contextlib.contextmanager
def serve_in_thread(app: Any, port: int) -> Iterator[str]:
    """Run an ASGI app under uvicorn in a thread of its own (its own event loop); yields its base URL
    once /readyz answers 200."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"the app did not start on port {port}")
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=url) as client:  # ready means database and broker answer
            while not _answers_ready(client):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the app on port {port} did not become ready")
                time.sleep(0.1)
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@contextlib.contextmanager
def served(service: str, postgres_server: str, kafka_bootstrap: str, *, secret: str, **overrides: Any) -> Iterator[str]:
    """The service under uvicorn on a fresh migrated PostgreSQL database and a topic namespace of its own,
    its links and staff tokens signed with `secret`, no rate limit in the way; yields its base URL."""
    bootstrap = importlib.import_module(f"services.{service}.bootstrap")  # by name: shared imports no service
    database_url = asyncio.run(migrated_database(postgres_server, service))
    platform = PlatformSettings(
        environment="local", kafka_bootstrap=kafka_bootstrap, topic_namespace=new_namespace(), auth_jwt_secret=secret
    )
    settings = bootstrap.Settings(
        database_url=database_url, link_secret=secret, public_rate_limit="100000/minute", platform=platform, **overrides
    )
    try:
        with serve_in_thread(bootstrap.create_app(settings), free_port()) as url:
            yield url
    finally:
        asyncio.run(drop_database(database_url))


def staff_headers(secret: str, role: str = "coordinator", email: str = "staff@malmo.se") -> dict[str, str]:
    """The Authorization header of a local staff token with `role`."""
    token = issue_local_token(PlatformSettings(environment="local", auth_jwt_secret=secret), email=email, roles=[role])
    return {"Authorization": f"Bearer {token}"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def restartable_port() -> int:
    """A free port P, with P + 1 free too (Kafka's controller), below the ephemeral range, for a server a test
    stops and starts again: in the ephemeral range, a client's own outgoing connection (or its reconnects while
    the server is away) can take the port, and the restarted server cannot bind it."""
    for _ in range(200):
        port = secrets.choice(range(20_000, 32_000))
        if all(_bindable(p) for p in (port, port + 1)):
            return port
    raise RuntimeError("no free pair of ports below 32000")


def _bindable(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


async def delete_topics(bootstrap: str, prefixes: tuple[str, ...]) -> int:
    """Delete every topic whose name starts with one of `prefixes`; returns how many went.

    Each test namespace creates a set of topics; a broker that keeps thousands of them runs out of
    file handles, so tests clean up after themselves.
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=30_000)
    await admin.start()
    try:
        doomed = [topic for topic in await admin.list_topics() if topic.startswith(prefixes)]
        for start in range(0, len(doomed), 200):
            await admin.delete_topics(doomed[start : start + 200])
        return len(doomed)
    finally:
        await admin.close()


def assert_no_server_errors(base_url: str, headers: Mapping[str, str], *, max_examples: int = 25) -> int:
    """Schemathesis over a running service's OpenAPI: valid and invalid requests, with and without the
    given (staff) headers; fails on the first 5xx. Returns how many operations were exercised."""
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    for operation in operations:
        cases = st.one_of(
            operation.as_strategy(),
            operation.as_strategy(headers=dict(headers)),
            operation.as_strategy(headers=dict(headers), generation_mode=schemathesis.GenerationMode.NEGATIVE),
        )

        @given(case=cases)
        @settings(max_examples=max_examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def no_server_error(case: Any) -> None:
            response = case.call(base_url=base_url)
            assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.status_code}"

        no_server_error()
    return len(operations)


async def query(database_url: str, sql: str, **params: Any) -> list[dict[str, Any]]:
    """Rows of a read on a service's database (tests look behind the API with it)."""
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            return [dict(row) for row in (await connection.execute(text(sql), params)).mappings()]
    finally:
        await engine.dispose()


async def query_value(database_url: str, sql: str, **params: Any) -> Any:
    """The first column of the first row (None when there is none)."""
    rows = await query(database_url, sql, **params)
    return next(iter(rows[0].values())) if rows else None


async def rows_mentioning(database_url: str, *needles: str) -> dict[str, int]:
    """table -> how many of its rows mention any needle (case-insensitive), over every table of a service's
    PostgreSQL database read as text (each row's every column): where erased personal data would still be."""
    engine = create_async_engine(database_url)
    found: dict[str, int] = {}
    try:
        async with engine.connect() as connection:
            tables = await connection.scalars(
                text("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")
            )
            for table in list(tables):
                conditions = " OR ".join(f"lower(t::text) LIKE :n{i}" for i in range(len(needles)))
                params = {f"n{i}": f"%{needle.lower()}%" for i, needle in enumerate(needles)}
                sql = f'SELECT count(*) FROM "{table}" AS t WHERE {conditions}'  # noqa: S608 - names from the catalog
                if count := int(await connection.scalar(text(sql), params) or 0):
                    found[table] = count
    finally:
        await engine.dispose()
    return found


def files_mentioning(directory: Path, *needles: str) -> dict[str, list[str]]:
    """file name -> the needles its bytes hold, over every file in `directory` (SQLite databases with their
    `-wal` and `-shm`): where erased personal data would still be on disk, below what SQL can see."""
    found: dict[str, list[str]] = {}
    for path in sorted(p for p in directory.iterdir() if p.is_file()):
        content = path.read_bytes()
        if held := [needle for needle in needles if needle.encode() in content]:
            found[path.name] = held
    return found


async def execute(database_url: str, sql: str, **params: Any) -> None:
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text(sql), params)
    finally:
        await engine.dispose()


# --- traces: the spans the process ends, kept in memory ------------------------------------------------


@contextlib.contextmanager
def recorded_spans() -> Iterator[InMemorySpanExporter]:
    """Every span the process ends while this lasts, kept in memory (its get_finished_spans())."""
    configure_tracing("tests")  # the process's provider (the services' create_app sets the same one)
    provider = trace.get_tracer_provider()
    assert isinstance(provider, TracerProvider)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    try:
        yield exporter
    finally:
        exporter.shutdown()  # keeps no more spans for the rest of the run


# --- email: an SMTP server that keeps what it receives, and reading what it got ----------------------

LINK = re.compile(r"https?://[^\s<>\"]+")


@dataclass
class Mailbox:
    """An aiosmtpd handler that keeps every message it accepts, with the envelope's recipients."""

    received: list[tuple[list[str], EmailMessage]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: SmtpEnvelope) -> str:  # noqa: N802 - aiosmtpd's hook
        message = message_from_bytes(envelope.original_content or b"", policy=policy.default)
        assert isinstance(message, EmailMessage)
        with self.lock:
            self.received.append((list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    @property
    def messages(self) -> list[EmailMessage]:
        with self.lock:
            return [message for _, message in self.received]

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]

    async def one(self, address: str, subject: str, timeout: float = 20.0) -> EmailMessage:
        """The email to `address` whose subject starts with `subject`, once it has arrived (exactly one)."""
        try:
            found: list[EmailMessage] = await eventually(
                lambda: [m for m in self.to(address) if subject_of(m).startswith(subject)], timeout=timeout
            )
        except AssertionError:
            got = [subject_of(m) for m in self.to(address)]
            raise AssertionError(f"no email {subject!r} to {address} within {timeout}s; it got {got}") from None
        assert len(found) == 1, f"{len(found)} emails {subject!r} to {address}"
        return found[0]


@contextlib.contextmanager
def smtp_server(handler: Any) -> Iterator[int]:
    """An SMTP server on a free port, `handler` (e.g. a Mailbox) answering; yields its port."""
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


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


# --- the four services together ----------------------------------------------------------------------

SERVICES = ("intake", "resources", "matching", "notifications")


@dataclass
class RunningServices:
    api: dict[str, str]  # service name -> its base URL
    mailbox: Mailbox  # what notifications sent
    platform: PlatformSettings  # what they share (Kafka, the secret, the web's address)


@contextlib.contextmanager
def running_services(
    databases: Mapping[str, str],
    kafka_bootstrap: str,
    namespace: str,
    *,
    secret: str,
    web_public_url: str,
    coordinators: Sequence[str],
    **common: Any,
) -> Iterator[RunningServices]:
    """The four services under uvicorn on free ports, each on its (migrated) database in `databases`, all
    on one Kafka topic namespace, with one secret, their outboxes and consumers quick, every link in an
    email opening `web_public_url`; matching sweeps every second, notifications sends to an SMTP server
    whose mailbox keeps what it receives, retries quickly and alerts `coordinators`. `common` settings go
    to every service. The services are started by name: shared imports no service."""
    platform = PlatformSettings(
        environment="local",
        kafka_bootstrap=kafka_bootstrap,
        topic_namespace=namespace,
        auth_jwt_secret=secret,
        profile_link_secret=secret,  # notifications signs the profile link with it, resources verifies it
        outbox_poll_seconds=0.2,
        consumer_backoff_seconds=0.01,
        web_public_url=web_public_url,
    )
    ports = {name: free_port() for name in SERVICES}
    api = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    mailbox = Mailbox()
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
            bootstrap = importlib.import_module(f"services.{name}.bootstrap")
            settings = bootstrap.Settings(
                database_url=databases[name], public_url=api[name], platform=platform, **common, **special.get(name, {})
            )
            assert running.enter_context(serve_in_thread(bootstrap.create_app(settings), ports[name])) == api[name]
        yield RunningServices(api, mailbox, platform)
