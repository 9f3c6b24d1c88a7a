"""What the benchmarks stand on: throw-away databases, server processes, wrk runs and their parsing."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer

from shared.broker import TopicSettings, ensure_topics
from shared.contracts import ALL_TOPICS, Envelope, Event
from shared.settings import PlatformSettings

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
LOGS = ROOT / "bench" / "results" / "logs"


def server_url() -> str:
    """The PostgreSQL server the benchmarks make their databases on (the one `make test` uses)."""
    return os.environ.get("MEETMALMO_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:55432")


def plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


async def _admin(statement: str) -> None:
    connection = await asyncpg.connect(plain(server_url()) + "/postgres")
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def create_database(prefix: str) -> str:
    """An empty database; returns its SQLAlchemy URL."""
    name = f"bench_{prefix}_{uuid.uuid4().hex[:8]}"
    run(_admin(f'CREATE DATABASE "{name}"'))
    return f"{server_url()}/{name}"


def drop_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def execute(url: str, statement: str, *args: Any) -> str:
    connection = await asyncpg.connect(plain(url))
    try:
        return str(await connection.execute(statement, *args))
    finally:
        await connection.close()


def cpu_seconds(pid: int) -> float:
    """The process's CPU time so far (utime + stime), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def backends_cpu_seconds(connection: asyncpg.Connection, database: str) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend on `database` but `connection`'s own (the server runs on
    this machine: its processes are in /proc)."""
    pids = await connection.fetch(
        "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", database
    )
    found = {}
    for row in pids:
        with contextlib.suppress(OSError):
            found[row["pid"]] = cpu_seconds(row["pid"])
    return found


async def fetchval(url: str, query: str, *args: Any) -> Any:
    connection = await asyncpg.connect(plain(url))
    try:
        return await connection.fetchval(query, *args)
    finally:
        await connection.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    name: str
    url: str
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _wait_until_answers(url: str, process: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the server exited with {process.returncode} (see bench/results/logs)")
        try:
            urllib.request.urlopen(url, timeout=1)  # noqa: S310 (our own local server)
            return
        except urllib.error.HTTPError:
            return  # it answers (404/405 is an answer)
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f}s")


@contextlib.contextmanager
def uvicorn(
    name: str,
    app: str,
    env: Mapping[str, str],
    *,
    factory: bool = False,
    workers: int = 1,
    loop: str = "auto",
    http: str = "auto",
    probe: str = "/",
) -> Iterator[Server]:
    """`app` under uvicorn in its own process (or `workers` processes sharing one socket)."""
    port = free_port()
    LOGS.mkdir(parents=True, exist_ok=True)
    arguments = [str(VENV_BIN / "uvicorn"), app, "--host", "127.0.0.1", "--port", str(port), "--no-access-log",
                 "--log-level", "warning", "--loop", loop, "--http", http, "--lifespan", "on"]  # fmt: skip
    if factory:
        arguments.append("--factory")
    if workers > 1:
        arguments += ["--workers", str(workers)]
    log = (LOGS / f"{name}.log").open("ab")
    process = subprocess.Popen(arguments, cwd=ROOT, env={**os.environ, **env}, stdout=log, stderr=log)
    server = Server(name, f"http://127.0.0.1:{port}", process)
    try:
        _wait_until_answers(server.url + probe, process)
        yield server
    finally:
        server.stop()
        log.close()


@dataclass(frozen=True)
class WrkResult:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int  # non-2xx answers and socket errors

    @property
    def ok_per_second(self) -> float:
        return self.requests_per_second * (1 - self.errors / self.requests) if self.requests else 0.0


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def parse_wrk(output: str) -> WrkResult:
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", output).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", output).group(1))  # type: ignore[union-attr]
    requests = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    errors = 0
    if found := re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output):
        errors += int(found.group(1))
    if found := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output):
        errors += sum(int(g) for g in found.groups())
    return WrkResult(rps, p50, p99, requests, errors)


def ensure_wrk() -> str:
    """wrk from Debian; installed when missing (the bench machine is ours, as root)."""
    found = shutil.which("wrk")
    if found:
        return found
    print("bench: installing wrk (apt-get install wrk)", flush=True)
    subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=True, stdout=subprocess.DEVNULL)
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError("wrk is missing and could not be installed: apt-get install wrk")
    return found


def wrk(url: str, connections: int, seconds: float, script: Path, threads: int = 2) -> WrkResult:
    output = subprocess.run(
        [ensure_wrk(), "-t", str(min(threads, connections)), "-c", str(connections), "-d", f"{seconds:g}s",
         "--latency", "--timeout", "10s", "-s", str(script), url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return parse_wrk(output)


def profile(pid: int, seconds: float, output: Path, subprocesses: bool = False) -> subprocess.Popen[bytes] | None:
    """py-spy in the background on a running server (None when py-spy is not installed)."""
    spy = VENV_BIN / "py-spy"
    if not spy.exists():
        return None
    arguments = [str(spy), "record", "--pid", str(pid), "--duration", f"{int(seconds)}", "--rate", "200",
                 "--format", "raw", "--output", str(output), "--nonblocking"]  # fmt: skip
    if subprocesses:
        arguments.append("--subprocesses")
    return subprocess.Popen(arguments, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def top_frames(raw: Path, needles: Sequence[tuple[str, str]]) -> dict[str, float]:
    """Share of samples (inclusive) whose stack contains each needle: {label: share}."""
    total = 0
    hits = dict.fromkeys((label for label, _ in needles), 0)
    if not raw.exists():
        return {}
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        for label, needle in needles:
            if needle in stack:
                hits[label] += count
    return {label: hit / total for label, hit in hits.items()} if total else {}


def git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def machine() -> str:
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{os.cpu_count()} cores ({cpu}), Python {sys.version.split()[0]}, load average at start {load}"


def wait_ready(url: str, timeout: float = 60.0) -> None:
    """Until `url` (a /readyz) answers 200: the service reaches its database and the broker."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:  # noqa: S310 (our own local server)
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} was not ready within {timeout:.0f}s")


def delete_topics(namespace: str) -> None:
    """Remove the bench's topics from the shared broker (leftovers would be harmless, so failures only warn)."""
    from aiokafka.admin import AIOKafkaAdminClient

    from shared.settings import PlatformSettings

    async def delete() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=PlatformSettings().kafka_bootstrap)
        await admin.start()
        try:
            topics = [t for t in await admin.list_topics() if t.startswith(namespace)]
            if topics:
                await admin.delete_topics(topics)
        finally:
            await admin.close()

    try:
        run(delete())
    except Exception as exc:
        print(f"  (could not delete the bench topics {namespace}*: {exc})", flush=True)


async def write_events(namespace: str, events: Sequence[Event]) -> float:
    """Write `events` as their envelopes onto the topics of `namespace` (made if missing); returns the seconds taken."""
    platform = PlatformSettings()
    await ensure_topics(platform.kafka_bootstrap, [namespace + t for t in ALL_TOPICS], TopicSettings())
    producer = AIOKafkaProducer(bootstrap_servers=platform.kafka_bootstrap, linger_ms=20, max_batch_size=256 * 1024)
    await producer.start()
    started = time.perf_counter()
    try:
        for event in events:
            envelope = Envelope.wrap(event, producer="bench")
            await producer.send(namespace + event.topic.value, envelope.model_dump_json().encode(),
                                key=event.key().encode(), headers=[("content-type", b"application/json")])  # fmt: skip
        await producer.flush()
    finally:
        await producer.stop()
    return time.perf_counter() - started
