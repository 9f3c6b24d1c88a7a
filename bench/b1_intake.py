"""B1: the portal's submission against intake, beside the naive and lean baselines in the same run.

Every intake run is followed by a drain (the relay publishes its outbox rows, intake's own consumers
catch up) and a reset to the seeded table, so each run starts from the table size it names.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from bench import infra
from shared.migrations import upgrade

SCRIPT = Path(__file__).parent / "wrk" / "submit.lua"
PATH = "/api/v1/initiatives"
WORDS = [w.strip('",') for w in SCRIPT.read_text().split("local words = {", 1)[1].split("}", 1)[0].split()]


@dataclass(frozen=True)
class Row:
    """One wrk run: what was measured, where."""

    target: str  # naive | lean | intake | intake x2
    connections: int
    open_initiatives: int
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int
    drain_seconds: float | None = None


async def _seed(url: str, count: int, start: int) -> None:
    """`count` open initiatives (status submitted) shaped like the portal's, numbered from `start`."""
    rng = random.Random(start)
    now = datetime.now(UTC)
    organisations = [f"{rng.randint(100000, 999999)}-{rng.randint(1000, 9999)}" for _ in range(3000)]
    records = []
    for n in range(start, start + count):
        title = " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 6))) + f" {n}"
        at = now - timedelta(days=30, minutes=n)
        records.append((
            uuid.uuid4(), f"MM-2025-{n:06d}", "submitted", title, f"Ett initiativ om {title} i Malmö.",
            "Vi söker partner.", "Seed AB", "business", rng.choice(organisations) if rng.random() < 0.5 else None,
            "Seed Person", f"seed{n}@seed.example", None, '["employment"]', '["collaboration_partners"]',
            '["recruitment"]', 2, 4, "sv", None, "portal", None, at, at, 1,
        ))  # fmt: skip
    connection = await asyncpg.connect(infra.plain(url))
    try:
        columns = [r["column_name"] for r in await connection.fetch(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'initiatives' "
            "ORDER BY ordinal_position")]  # fmt: skip
        wanted = ["id", "reference", "status", "title", "summary", "description", "organisation_name",
                  "organisation_type", "organisation_number", "contact_name", "contact_email", "contact_phone",
                  "themes", "seeking", "competences_needed", "group_size_min", "group_size_max", "language",
                  "lead", "channel", "registered_by", "submitted_at", "updated_at", "version"]  # fmt: skip
        assert set(wanted) <= set(columns), f"intake's initiatives table changed: {columns}"
        await connection.copy_records_to_table("initiatives", records=records, columns=wanted)
        await connection.execute("ANALYZE initiatives")
    finally:
        await connection.close()


async def _drain(url: str, timeout: float = 120.0) -> float:
    """Seconds until the outbox is published and intake's consumers stopped moving (bounded)."""
    started = time.monotonic()
    connection = await asyncpg.connect(infra.plain(url))
    try:
        while time.monotonic() - started < timeout:
            if not await connection.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL"):
                break
            await asyncio.sleep(0.25)
        seen = -1
        while time.monotonic() - started < timeout:
            processed = await connection.fetchval("SELECT count(*) FROM processed_events")
            if processed == seen:
                break
            seen = processed
            await asyncio.sleep(1.5)
    finally:
        await connection.close()
    return time.monotonic() - started


async def _reset(url: str, seeded_before: datetime) -> None:
    connection = await asyncpg.connect(infra.plain(url))
    try:
        for attempt in range(3):  # a consumer still noting a hint may deadlock with the DELETE: try again
            try:
                await connection.execute("DELETE FROM initiatives WHERE submitted_at > $1", seeded_before)
                break
            except asyncpg.DeadlockDetectedError:
                if attempt == 2:
                    raise
                await asyncio.sleep(1.0)
        await connection.execute("DELETE FROM outbox")
        await connection.execute("DELETE FROM processed_events")
        await connection.execute("VACUUM ANALYZE initiatives")
    finally:
        await connection.close()


def _truncate(url: str, table: str) -> None:
    infra.run(infra.execute(url, f"TRUNCATE {table}"))


@contextmanager
def _intake(url: str, namespace: str, workers: int) -> Iterator[infra.Server]:
    env = {
        "INTAKE_DATABASE_URL": url,
        "MEETMALMO_TOPIC_NAMESPACE": namespace,
        "MEETMALMO_ENVIRONMENT": "local",
        "INTAKE_PUBLIC_RATE_LIMIT": "100000000/minute",  # the bench measures the path, not the limit
        "MEETMALMO_LOG_FORMAT": "json",
    }
    name = f"intake-x{workers}"
    with infra.uvicorn(name, "services.intake.bootstrap:create_app", env, factory=True, workers=workers,
                       probe="/healthz") as server:  # fmt: skip
        yield server


PROFILE_SECONDS = 3.0  # a profile needs fewer samples than a figure does; B1 stays within its 3.5 minutes


def run(seconds: float, sizes: list[int], connections: list[int], profile_dir: Path | None) -> list[Row]:
    b1_started = time.monotonic()
    rows: list[Row] = []
    naive_url, lean_url = infra.create_database("naive"), infra.create_database("lean")
    intake_url = infra.create_database("intake")
    namespace = f"bench.{uuid.uuid4().hex[:8]}."
    try:
        upgrade("intake", intake_url)
        seeded_before = datetime.now(UTC) - timedelta(days=1)
        with ExitStack() as stack:
            naive = stack.enter_context(infra.uvicorn(
                "naive", "bench.baselines.naive:app", {"BENCH_DATABASE_URL": naive_url}, loop="asyncio", http="h11",
            ))  # fmt: skip
            lean = stack.enter_context(infra.uvicorn(
                "lean", "bench.baselines.lean:app", {"BENCH_DATABASE_URL": infra.plain(lean_url)}, loop="uvloop",
                http="httptools",
            ))  # fmt: skip

            def baselines(c: int, size: int) -> None:
                pairs = (("naive", naive, naive_url, "naive_initiatives, naive_outbox"),
                         ("lean", lean, lean_url, "lean_initiatives, lean_outbox"))  # fmt: skip
                for name, server, url, table in pairs:
                    result = infra.wrk(server.url + PATH, c, seconds, SCRIPT)
                    rows.append(Row(name, c, size, **_measured(result)))
                    _truncate(url, table)
                    _say(rows[-1])

            def ours(server: infra.Server, label: str, c: int, size: int, profile: Path | None = None) -> None:
                result = infra.wrk(server.url + PATH, c, seconds, SCRIPT)
                drained = infra.run(_drain(intake_url))
                rows.append(Row(label, c, size, **_measured(result), drain_seconds=drained))
                infra.run(_reset(intake_url, seeded_before))
                _say(rows[-1])

            seeded = 0
            for size in sizes:
                if size > seeded:
                    started = time.monotonic()
                    infra.run(_seed(intake_url, size - seeded, seeded))
                    print(f"  seeded {size - seeded:,} open initiatives in {time.monotonic() - started:.1f}s",
                          flush=True)  # fmt: skip
                    seeded = size
                with _intake(intake_url, namespace, 1) as intake:
                    for c in connections if size == sizes[0] else [32]:
                        baselines(c, size)
                        ours(intake, "intake", c, size)
                    if profile_dir is not None:
                        _profile(intake, intake_url, seeded_before, min(seconds, PROFILE_SECONDS),
                                 profile_dir / f"intake-{size}.txt")  # fmt: skip
                if size == sizes[0]:
                    with _intake(intake_url, namespace, 2) as intake2:
                        for c in [32, 64]:
                            baselines(c, size)
                            ours(intake2, "intake x2", c, size)
    finally:
        for url in (naive_url, lean_url, intake_url):
            infra.drop_database(url)
        infra.delete_topics(namespace)
    print(f"  B1 took {time.monotonic() - b1_started:.0f}s", flush=True)
    return rows


def _profile(server: infra.Server, url: str, seeded_before: datetime, seconds: float, output: Path) -> None:
    """A py-spy profile of intake under c32 (a run of its own: the profiler slows what it watches)."""
    output.parent.mkdir(parents=True, exist_ok=True)
    spy = infra.profile(server.process.pid, seconds, output)
    if spy is None:
        print("  (py-spy is not installed: no profile)", flush=True)
        return
    time.sleep(0.5)
    infra.wrk(server.url + PATH, 32, seconds, SCRIPT)
    spy.wait(timeout=seconds + 30)
    infra.run(_drain(url))
    infra.run(_reset(url, seeded_before))


def _measured(result: infra.WrkResult) -> dict[str, Any]:
    return {"requests_per_second": result.ok_per_second, "p50_ms": result.p50_ms, "p99_ms": result.p99_ms,
            "errors": result.errors, "requests": result.requests}  # fmt: skip


def _say(row: Row) -> None:
    drain = f", drained in {row.drain_seconds:.1f}s" if row.drain_seconds is not None else ""
    print(f"  B1 {row.target:<10} c{row.connections:<3} {row.open_initiatives:>7,} open: "
          f"{row.requests_per_second:8.0f} req/s  p50 {row.p50_ms:7.1f} ms  p99 {row.p99_ms:7.1f} ms  "
          f"errors {row.errors}{drain}", flush=True)  # fmt: skip


def as_dicts(rows: list[Row]) -> list[dict[str, Any]]:
    return [asdict(r) for r in rows]
