"""B4 replay: rebuild matching's projections from `events` resource events with a fresh consumer group.

The bench writes ResourceRegistered (60 %), ResourceUpdated (30 %) and ResourceWithdrawn (10 %) for people
of a pool onto a fresh topic namespace first; then matching starts on an empty database and a new group,
and the clock runs until every event has its processed mark: events/s is what rebuilding costs. A replay
slower than `cap` seconds is stopped there (so that `make bench` stays within its 10 minutes) and its rate is
the events applied by then over the time taken; the report says so.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from typing import Any

import asyncpg

from bench import infra
from bench.b3_service import _people
from shared.contracts import Event
from shared.contracts.resources import ResourceRegistered, ResourceUpdated, ResourceWithdrawn
from shared.migrations import upgrade


def _history(count: int, rng: random.Random) -> list[Event]:
    """`count` resource events: registrations, then updates and withdrawals of people already registered."""
    registered = [event for event in _people(count * 6 // 10, rng) if isinstance(event, ResourceRegistered)]
    events: list[Event] = list(registered)
    while len(events) < count:
        someone = rng.choice(registered)
        if rng.random() < 0.75:
            profile = someone.profile.model_copy(update={"capacity": rng.randint(1, 3)})
            events.append(ResourceUpdated(resource_id=someone.resource_id, profile=profile, active=rng.random() < 0.9))
        else:
            events.append(ResourceWithdrawn(resource_id=someone.resource_id, reason="bench"))
    return events


async def _applied(url: str, target: int, cap: float, pid: int) -> dict[str, float]:
    """Events with their processed mark and the seconds taken: when all `target` are, or when `cap` seconds have
    passed; with the CPU seconds meanwhile of matching (process `pid`), of its PostgreSQL backends and of the
    backend that counts the marks (the bench's own)."""
    database = url.rsplit("/", 1)[1]
    connection = await asyncpg.connect(infra.plain(url))
    try:
        counter = int(await connection.fetchval("SELECT pg_backend_pid()"))
        started, cpu_started = time.perf_counter(), infra.cpu_seconds(pid)
        backends_started = await infra.backends_cpu_seconds(connection, database)
        counter_started = infra.cpu_seconds(counter)
        while True:
            done = int(await connection.fetchval("SELECT count(*) FROM processed_events"))
            elapsed = time.perf_counter() - started
            if done >= target or elapsed >= cap:
                backends = await infra.backends_cpu_seconds(connection, database)
                return {"applied": done, "seconds": elapsed, "cpu_seconds": infra.cpu_seconds(pid) - cpu_started,
                        "database_cpu_seconds": sum(cpu - backends_started.get(backend, 0.0)
                                                    for backend, cpu in backends.items()),
                        "counting_cpu_seconds": infra.cpu_seconds(counter) - counter_started}  # fmt: skip
            # Each count reads every mark (a scan of 100,000 rows by the end); at 50 a second it took a tenth of the
            # machine's two cores from the replay it measures (PostgreSQL's), so 10 a second.
            await asyncio.sleep(0.1)
    finally:
        await connection.close()


def run(events: int, cap: float = 180.0) -> dict[str, Any]:
    url = infra.create_database("matching")
    namespace = f"bench.{uuid.uuid4().hex[:8]}."
    try:
        upgrade("matching", url)
        history = _history(events, random.Random(11))
        written = infra.run(infra.write_events(namespace, history))
        env = {"MATCHING_DATABASE_URL": url, "MEETMALMO_TOPIC_NAMESPACE": namespace, "MEETMALMO_ENVIRONMENT": "local",
               "MATCHING_CONSUMER_GROUP": f"matching-replay-{uuid.uuid4().hex[:6]}"}  # fmt: skip
        started = time.perf_counter()
        with infra.uvicorn("matching", "services.matching.bootstrap:create_app", env, factory=True,
                           probe="/healthz") as server:  # fmt: skip
            figures = infra.run(_applied(url, events, cap, server.process.pid))
            total = time.perf_counter() - started  # start-up and joining the group included
    finally:
        infra.drop_database(url)
        infra.delete_topics(namespace)
    applied, seconds = int(figures["applied"]), figures["seconds"]
    result = {"events": events, "applied": applied, "capped": applied < events, "write_seconds": written,
              "replay_seconds": seconds, "with_startup_seconds": total,
              "events_per_second": applied / seconds,
              "cpu_us_per_event": 1e6 * figures["cpu_seconds"] / applied if applied else None,
              "database_cpu_us_per_event": 1e6 * figures["database_cpu_seconds"] / applied if applied else None,
              "counting_cpu_seconds": figures["counting_cpu_seconds"]}  # fmt: skip
    stopped = f", stopped after {cap:.0f} s with {applied:,} applied" if applied < events else ""
    cpu, database_cpu = result["cpu_us_per_event"] or 0.0, result["database_cpu_us_per_event"] or 0.0
    print(f"  B4 replay of {events:,} resource events: {result['events_per_second']:.0f} events/s "
          f"({seconds:.1f} s; {total:.1f} s with start-up{stopped}); CPU an event: matching "
          f"{cpu:.0f} us, its PostgreSQL backends {database_cpu:.0f} us "
          f"(counting the marks: {figures['counting_cpu_seconds']:.2f} s)", flush=True)  # fmt: skip
    return result
