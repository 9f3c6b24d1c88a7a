"""B2: a portal submission's 201 → the coordinator's alert at an SMTP sink, at steady open-loop rates.

Intake and notifications run as real processes on PostgreSQL and Kafka (as B1 starts intake); an aiosmtpd
sink in its own process notes when each coordinator alert arrives and which reference it names; a load
process sends submissions on a fixed schedule (not waiting for answers). Per rate: sent, 201s, alerts
received, 201 → alert p50/p99, and whether the rate was held: every submission got its 201 and its alert, and
the p50 of the last 5 s was not far above that of the first 5 s, nor above a second (latency did not keep growing).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench import infra
from shared.migrations import upgrade

COORDINATOR = "coordinator@bench.example"
PATH = "/api/v1/initiatives"
WINDOW = 5.0  # seconds at the start and the end of a run whose p50s are compared
MAX_P50 = 1.0  # seconds: a rate whose alerts take longer than this at the end of the run is not held


@dataclass(frozen=True)
class Row:
    rate: int  # submissions a second, as scheduled
    seconds: float
    sent: int
    created: int  # 201s
    emails: int  # coordinator alerts received for those 201s
    p50_ms: float | None
    p99_ms: float | None
    first_p50_ms: float | None  # 201s of the first WINDOW seconds
    last_p50_ms: float | None  # 201s of the last WINDOW seconds
    http_p99_ms: float | None  # send → answer
    send_lag_p99_ms: float  # how late the generator sent, against its schedule
    held: bool


def _percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 1)


def measure(rate: int, seconds: float, requests: list[dict[str, Any]], arrivals: dict[str, float]) -> Row:
    """One rate's figures from the generator's requests and the sink's arrivals (reference → time)."""
    created = [r for r in requests if r["status"] == 201 and r["reference"]]
    start = min((r["scheduled"] for r in requests), default=0.0)
    latency = {r["reference"]: arrivals[r["reference"]] - r["answered"] for r in created if r["reference"] in arrivals}
    first = [latency[r["reference"]] for r in created if r["reference"] in latency and r["scheduled"] < start + WINDOW]
    last = [latency[r["reference"]] for r in created
            if r["reference"] in latency and r["scheduled"] >= start + seconds - WINDOW]  # fmt: skip
    first_p50, last_p50 = _percentile(first, 0.5), _percentile(last, 0.5)
    lags = [(r["sent"] or r["scheduled"] + 999) - r["scheduled"] for r in requests]  # never sent: 999 s late
    everything = len(latency) == len(created) and len(created) == len(requests)
    # Not growing: the last seconds' p50 within 2× (+ 50 ms) of the first's, and under a second (more is a queue).
    steady = first_p50 is not None and last_p50 is not None and last_p50 <= min(2 * first_p50 + 0.05, MAX_P50)
    return Row(
        rate=rate, seconds=seconds, sent=len(requests), created=len(created), emails=len(latency),
        p50_ms=_ms(_percentile(list(latency.values()), 0.5)), p99_ms=_ms(_percentile(list(latency.values()), 0.99)),
        first_p50_ms=_ms(first_p50), last_p50_ms=_ms(last_p50),
        http_p99_ms=_ms(_percentile([r["answered"] - r["sent"] for r in requests if r["sent"]], 0.99)),
        send_lag_p99_ms=_ms(_percentile(lags, 0.99)) or 0.0,
        held=everything and steady,
    )  # fmt: skip


def _arrivals(path: Path) -> dict[str, float]:
    found: dict[str, float] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            at, _, reference = line.partition("\t")
            if reference not in ("other", "?", ""):
                found.setdefault(reference, float(at))
    return found


@contextmanager
def _sink(port: int, output: Path) -> Iterator[None]:
    infra.LOGS.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen([str(infra.VENV_BIN / "python"), "-m", "bench.b2_sink", str(port), COORDINATOR,
                                str(output)], cwd=infra.ROOT, stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert process.stdout is not None
        if process.stdout.readline().strip() != "ready":
            raise RuntimeError("the SMTP sink did not start")
        yield
    finally:
        process.terminate()
        process.wait(timeout=20)


def _load(url: str, rate: float, seconds: float, output: Path) -> list[dict[str, Any]]:
    subprocess.run([str(infra.VENV_BIN / "python"), "-m", "bench.b2_load", url, str(rate), str(seconds),
                    str(output)], cwd=infra.ROOT, check=True, timeout=seconds + 30)  # fmt: skip
    return list(json.loads(output.read_text()))


def _wait_for(arrivals_file: Path, requests: list[dict[str, Any]], timeout: float) -> None:
    """Until every 201's alert has arrived, or `timeout` seconds passed (a rate not held leaves a backlog that
    the next rate starts behind: its figures say so)."""
    wanted = {r["reference"] for r in requests if r["status"] == 201 and r["reference"]}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not wanted <= _arrivals(arrivals_file).keys():
        time.sleep(0.25)


def run(rates: list[int], seconds: float, drain_timeout: float = 7.0, profile_dir: Path | None = None) -> list[Row]:
    rows: list[Row] = []
    intake_url, notifications_url = infra.create_database("b2intake"), infra.create_database("b2notify")
    namespace = f"bench.{uuid.uuid4().hex[:8]}."
    work = infra.LOGS / f"b2-{uuid.uuid4().hex[:6]}"
    work.mkdir(parents=True, exist_ok=True)
    arrivals_file, smtp_port = work / "arrivals.tsv", infra.free_port()
    common = {"MEETMALMO_TOPIC_NAMESPACE": namespace, "MEETMALMO_ENVIRONMENT": "local", "MEETMALMO_LOG_FORMAT": "json"}
    try:
        upgrade("intake", intake_url)
        upgrade("notifications", notifications_url)
        with ExitStack() as stack:
            stack.enter_context(_sink(smtp_port, arrivals_file))
            intake = stack.enter_context(infra.uvicorn("b2-intake", "services.intake.bootstrap:create_app", {
                **common, "INTAKE_DATABASE_URL": intake_url, "INTAKE_PUBLIC_RATE_LIMIT": "100000000/minute",
            }, factory=True, probe="/healthz"))  # fmt: skip
            notifications = stack.enter_context(infra.uvicorn(
                "b2-notifications", "services.notifications.bootstrap:create_app", {
                    **common,
                    "NOTIFICATIONS_DATABASE_URL": notifications_url,
                    "NOTIFICATIONS_SMTP_PORT": str(smtp_port),
                    "NOTIFICATIONS_COORDINATOR_EMAILS": COORDINATOR,
                }, factory=True, probe="/healthz"))  # fmt: skip
            infra.wait_ready(intake.url + "/readyz")
            infra.wait_ready(notifications.url + "/readyz")
            # Warm up: the consumer group has its partitions and every connection is open before the clock runs.
            warm = _load(intake.url + PATH, 10, 2, work / "warm.json")
            _wait_for(arrivals_file, warm, timeout=30)
            for rate in rates:
                spy = None
                if profile_dir is not None and rate == max(rates):
                    profile_dir.mkdir(parents=True, exist_ok=True)
                    spy = infra.profile(notifications.process.pid, seconds, profile_dir / f"notifications-{rate}.txt")
                requests = _load(intake.url + PATH, rate, seconds, work / f"load-{rate}.json")
                _wait_for(arrivals_file, requests, timeout=drain_timeout)
                if spy is not None:
                    spy.wait(timeout=30)
                rows.append(measure(rate, seconds, requests, _arrivals(arrivals_file)))
                _say(rows[-1])
    finally:
        for url in (intake_url, notifications_url):
            infra.drop_database(url)
        infra.delete_topics(namespace)
    return rows


def highest_held(rows: list[dict[str, Any]]) -> int | None:
    held = [r["rate"] for r in rows if r["held"]]
    return max(held) if held else None


def _say(row: Row) -> None:
    print(f"  B2 {row.rate:>4}/s for {row.seconds:g}s: sent {row.sent}, 201 {row.created}, alerts {row.emails}; "
          f"201→alert p50 {row.p50_ms} ms p99 {row.p99_ms} ms (first {WINDOW:g}s p50 {row.first_p50_ms}, "
          f"last {row.last_p50_ms}); http p99 {row.http_p99_ms} ms; send lag p99 {row.send_lag_p99_ms} ms; "
          f"{'held' if row.held else 'NOT held'}", flush=True)  # fmt: skip


def as_dicts(rows: list[Row]) -> list[dict[str, Any]]:
    return [asdict(r) for r in rows]


if __name__ == "__main__":  # a quick look by hand: python -m bench.b2_end_to_end [seconds] [rates...]
    import sys

    arguments = sys.argv[1:]
    print(os.getloadavg())
    run([int(a) for a in arguments[1:]] or [20, 100, 200], float(arguments[0]) if arguments else 10.0)
