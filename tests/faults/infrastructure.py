"""The parts the fault suite breaks on purpose, all its own: a Kafka broker, a PostgreSQL server, an SMTP
server, and the four services as separate OS processes.

The shared Kafka (9092) and PostgreSQL (55432) other test runs use are never touched: the suite starts its
own on other ports (MEETMALMO_FAULTS_KAFKA_PORT, MEETMALMO_FAULTS_PG_PORT) with the project's deploy
scripts, kills and restarts only those, and stops them at the end if it started them.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope as SmtpEnvelope

from shared.testing import free_port

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("intake", "resources", "matching", "notifications")


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as probe:
        probe.settimeout(1.0)
        return probe.connect_ex((host, port)) == 0


def _script(path: str, env: Mapping[str, str]) -> None:
    done = subprocess.run(["bash", str(ROOT / path)], env={**os.environ, **env}, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{path} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")


# --- Kafka -------------------------------------------------------------------------------------------


@dataclass
class OwnKafka:
    """A single-node broker started by deploy/kafka/up.sh on a port of the suite's own."""

    port: int
    started_here: bool = False

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def _env(self) -> dict[str, str]:
        return {"MEETMALMO_KAFKA_BOOTSTRAP": self.bootstrap}

    @property
    def _pid_file(self) -> Path:
        return ROOT / "var" / f"kafka-{self.port}" / "kafka.pid"

    def up(self) -> None:
        _script("deploy/kafka/up.sh", self._env)

    def pid(self) -> int:
        """The broker's pid; only a broker up.sh started from this checkout is ever killed."""
        if not self._pid_file.exists():
            raise RuntimeError(f"the broker on {self.bootstrap} was not started by deploy/kafka/up.sh here")
        return int(self._pid_file.read_text().strip())

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, whatever was in flight is in flight."""
        pid = self.pid()
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while port_open(self.port) or _alive(pid):
            if time.monotonic() > deadline:
                raise RuntimeError("the killed broker did not go away")
            time.sleep(0.2)

    def down(self) -> None:
        _script("deploy/kafka/down.sh", self._env)


# --- PostgreSQL --------------------------------------------------------------------------------------


@dataclass
class OwnPostgres:
    """A cluster started by deploy/postgres/up.sh in a data directory and on a port of the suite's own."""

    port: int
    data: str
    started_here: bool = False

    @property
    def server_url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}"

    @property
    def _env(self) -> dict[str, str]:
        return {"MEETMALMO_PG_PORT": str(self.port), "MEETMALMO_PG_DATA": self.data}

    def up(self) -> None:
        _script("deploy/postgres/up.sh", self._env)

    def down(self) -> None:
        """pg_ctl stop -m fast: every connection is cut, the server is gone until `up()`."""
        _script("deploy/postgres/down.sh", self._env)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "State:\tZ" not in state and "State:\tX" not in state


# --- SMTP --------------------------------------------------------------------------------------------


@dataclass
class ControlledMailbox:
    """An aiosmtpd handler that keeps what it receives and can be told to misbehave.

    `busy`: every MAIL FROM is answered 451 (the server is there but will not take mail now).
    `hold_after_data`: the message is received whole (and kept: it reached the server), then the reply to
    DATA is held back for this many seconds, longer than the client's timeout, so the sender cannot know.
    """

    received: list[tuple[list[str], EmailMessage]] = field(default_factory=list)
    held: list[EmailMessage] = field(default_factory=list)  # received while the reply was held back
    busy: bool = False
    hold_after_data: float = 0.0
    refused_mail_from: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_MAIL(  # noqa: N802 - aiosmtpd's hook
        self, server: Any, session: Any, envelope: SmtpEnvelope, address: str, mail_options: list[str]
    ) -> str:
        if self.busy:
            with self.lock:
                self.refused_mail_from += 1
            return "451 4.3.2 Not accepting mail just now, try again later"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: SmtpEnvelope) -> str:  # noqa: N802
        message = message_from_bytes(envelope.original_content or b"", policy=policy.default)
        assert isinstance(message, EmailMessage)
        hold = self.hold_after_data
        with self.lock:
            self.received.append((list(envelope.rcpt_tos), message))
            if hold:
                self.held.append(message)
        if hold:
            await asyncio.sleep(hold)
        return "250 Message accepted for delivery"

    @property
    def messages(self) -> list[EmailMessage]:
        with self.lock:
            return [message for _, message in self.received]


class SmtpServer:
    """The mailbox behind an SMTP port that can be closed (connections refused) and opened again."""

    def __init__(self, mailbox: ControlledMailbox) -> None:
        self.mailbox = mailbox
        self.port = free_port()
        self._controller: Controller | None = None

    def open(self) -> None:
        if self._controller is None:
            # ready_timeout: the machine is shared and slow at times
            self._controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port, ready_timeout=30)
            self._controller.start()

    def close(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


# --- the services as processes -----------------------------------------------------------------------


@dataclass
class ServiceProcess:
    """One service under `meetmalmo serve`, its output appended to a log file the suite scans afterwards."""

    name: str
    port: int
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    kills: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "shared.cli", "serve", self.name],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill(self) -> None:
        """SIGKILL: no shutdown hook, no flush, no commit of what was under way."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        self.kills += 1

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    async def ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=5.0) as client:
            while True:
                assert self.process is not None
                if self.process.poll() is not None:
                    raise AssertionError(f"{self.name} exited with {self.process.returncode}; see {self.log_path}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(f"{self.url}/readyz")).status_code == 200:
                        return
                if time.monotonic() > deadline:
                    raise AssertionError(f"{self.name} not ready within {timeout}s; see {self.log_path}")
                await asyncio.sleep(0.2)

    async def restart(self) -> None:
        self.start()
        await self.ready()


OWN_PREFIXES = ("MEETMALMO_", "INTAKE_", "RESOURCES_", "MATCHING_", "NOTIFICATIONS_", "WEB_", "OTEL_")


def service_environment(base: Mapping[str, str], settings: Mapping[str, str]) -> dict[str, str]:
    """The process environment: the suite's settings only (none of the caller's platform variables leak in,
    e.g. the Makefile's MEETMALMO_KAFKA_BOOTSTRAP of the shared broker)."""
    return {**{k: v for k, v in base.items() if not k.startswith(OWN_PREFIXES)}, **settings}


@contextlib.contextmanager
def processes(services: Mapping[str, ServiceProcess]) -> Iterator[Mapping[str, ServiceProcess]]:
    try:
        for service in services.values():
            service.start()
        yield services
    finally:
        for service in services.values():
            service.stop()
