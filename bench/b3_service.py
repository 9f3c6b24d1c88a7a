"""B3 in the service and B4: matching as a process on PostgreSQL and Kafka.

- B4 replay: `pool` ResourceRegistered events put on the topic at once; events/s until every one is applied
  (processed_events), which is what rebuilding matching's projections from the topic costs.
- B3 together: `together` InitiativeAccepted put on the topic at once; seconds until the last one has its
  proposal (or its recorded reason why none can be formed), and one acceptance alone first for comparison.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer

from bench import infra
from services.matching.tests.factories import accepted, registered
from shared.contracts import Envelope, Event
from shared.migrations import upgrade
from shared.settings import PlatformSettings
from shared.taxonomy import Competence, OrganisationType, Theme

COMPETENCES = list(Competence)
THEMES = list(Theme)


def _people(count: int, rng: random.Random) -> list[Event]:
    organisations = [(f"Org {n} AB", OrganisationType.BUSINESS) for n in range(count // 5 + 1)]
    organisations += [(f"Förvaltning {n}", OrganisationType.MUNICIPALITY) for n in range(40)]
    people: list[Event] = []
    for n in range(count):
        name, kind = rng.choice(organisations[-40:]) if rng.random() < 0.12 else rng.choice(organisations)
        people.append(registered(
            f"Person {n}", name, kind=kind, competences=rng.sample(COMPETENCES, rng.randint(1, 3)),
            themes=rng.sample(THEMES, rng.randint(1, 2)), capacity=rng.randint(1, 3),
        ))  # fmt: skip
    return people


def _initiatives(count: int, rng: random.Random) -> list[Event]:
    return [
        accepted(
            reference=f"MM-2026-{9000 + n}",
            competences_needed=tuple(rng.sample(COMPETENCES, rng.randint(1, 3))),
            themes=tuple(rng.sample(THEMES, 1)),
            group_size_min=3,
            group_size_max=4,
        )
        for n in range(count)
    ]


async def _produce(producer: AIOKafkaProducer, namespace: str, events: list[Event]) -> None:
    for event in events:
        envelope = Envelope.wrap(event, producer="bench")
        await producer.send(namespace + event.topic.value, envelope.model_dump_json().encode(),
                            key=event.key().encode(), headers=[("content-type", b"application/json")])  # fmt: skip
    await producer.flush()


async def _until(url: str, query: str, target: int, timeout: float) -> float:
    """Seconds until `query` counts `target` (polled every 20 ms); raises after `timeout`."""
    started = time.perf_counter()
    connection = await asyncpg.connect(infra.plain(url))
    try:
        while time.perf_counter() - started < timeout:
            if int(await connection.fetchval(query)) >= target:
                return time.perf_counter() - started
            await asyncio.sleep(0.02)
    finally:
        await connection.close()
    raise TimeoutError(f"{query} did not reach {target} within {timeout:.0f}s")


DECIDED = (
    "SELECT count(*) FROM initiatives i WHERE i.formation_problem IS NOT NULL "
    "OR EXISTS (SELECT 1 FROM groups g WHERE g.initiative_id = i.id)"
)


async def _measure(url: str, namespace: str, pool: int, together: int) -> dict[str, Any]:
    rng = random.Random(7)
    producer = AIOKafkaProducer(bootstrap_servers=PlatformSettings().kafka_bootstrap, linger_ms=5)
    await producer.start()
    try:
        people = _people(pool, rng)
        started = time.perf_counter()
        await _produce(producer, namespace, people)
        replay = await _until(url, "SELECT count(*) FROM processed_events", pool, timeout=600)
        replay_total = max(replay, time.perf_counter() - started)
        alone = _initiatives(1, rng)
        await _produce(producer, namespace, alone)
        one = await _until(url, DECIDED, 1, timeout=60)
        batch = _initiatives(together, rng)
        await _produce(producer, namespace, batch)
        last = await _until(url, DECIDED, 1 + together, timeout=300)
        connection = await asyncpg.connect(infra.plain(url))
        try:
            proposed = int(await connection.fetchval("SELECT count(DISTINCT initiative_id) FROM groups"))
            over = int(await connection.fetchval(
                "SELECT count(*) FROM resources r WHERE r.load > r.capacity"))  # fmt: skip
        except asyncpg.UndefinedColumnError:
            over = -1
        finally:
            await connection.close()
    finally:
        await producer.stop()
    return {"pool": pool, "replay_seconds": replay_total, "events_per_second": pool / replay_total,
            "one_seconds": one, "together": together, "together_seconds": last, "proposed": proposed,
            "beyond_capacity": over}  # fmt: skip


def run(pool: int, together: int) -> dict[str, Any]:
    url = infra.create_database("matching")
    namespace = f"bench.{uuid.uuid4().hex[:8]}."
    try:
        upgrade("matching", url)
        env = {"MATCHING_DATABASE_URL": url, "MEETMALMO_TOPIC_NAMESPACE": namespace, "MEETMALMO_ENVIRONMENT": "local"}
        with infra.uvicorn("matching", "services.matching.bootstrap:create_app", env, factory=True,
                           probe="/healthz") as server:  # fmt: skip
            infra.wait_ready(server.url + "/readyz")
            time.sleep(3)  # the consumer joins its group
            result = infra.run(_measure(url, namespace, pool, together))
    finally:
        infra.drop_database(url)
        infra.delete_topics(namespace)
    print(f"  B4 replay of {pool:,} ResourceRegistered: {result['events_per_second']:.0f} events/s; "
          f"B3 one acceptance {result['one_seconds'] * 1000:.0f} ms, {together} at once "
          f"{result['together_seconds']:.2f} s ({result['proposed']} with a group)", flush=True)  # fmt: skip
    return result
