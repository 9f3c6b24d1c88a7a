"""Ctrl-C stops matching cleanly even after CP-SAT has solved: OR-Tools must not take SIGINT over (by
default it catches it during a solve and then leaves it at the default action, which kills the process
before its shutdown runs)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from services.matching.tests.conftest import SECRET
from services.matching.tests.factories import accepted, team
from shared.contracts import Envelope, Event
from shared.settings import PROJECT_ROOT
from shared.testing import eventually, free_port, query_value, staff_headers

pytestmark = pytest.mark.integration


async def test_ctrl_c_after_a_solve_runs_the_shutdown_and_exits_0(
    service_database: Callable[[str], Awaitable[str]], kafka_bootstrap: str, topic_namespace: str, tmp_path: Path
) -> None:
    port, database_url = free_port(), await service_database("matching")
    environment = {
        **os.environ,
        "MATCHING_DATABASE_URL": database_url,
        "MATCHING_PORT": str(port),
        "MATCHING_SWEEP_SECONDS": "3600",
        "MEETMALMO_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "MEETMALMO_TOPIC_NAMESPACE": topic_namespace,
        "MEETMALMO_AUTH_JWT_SECRET": SECRET,
        "MEETMALMO_LOG_FORMAT": "console",
    }
    log = tmp_path / "matching.log"
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "shared.cli",
            "serve",
            "matching",
            cwd=PROJECT_ROOT,
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            async with httpx.AsyncClient(base_url=base, timeout=5) as client:

                async def ready() -> bool:
                    try:
                        return (await client.get("/readyz")).status_code == 200
                    except httpx.TransportError:
                        return False

                await eventually(ready, timeout=30)
                people, initiative = team(), accepted()
                producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
                await producer.start()

                async def publish(event: Event) -> None:
                    value = Envelope.wrap(event, producer="test").model_dump_json().encode()
                    await producer.send_and_wait(topic_namespace + event.topic.value, value, key=event.key().encode())

                async def pool_filled() -> bool:
                    return bool(await query_value(database_url, "SELECT count(*) FROM resources") == len(people))

                try:
                    for person in people:
                        await publish(person)
                    await eventually(pool_filled)  # the topics are read in no set order between them
                    await publish(initiative)
                finally:
                    await producer.stop()

                async def proposed() -> list[object]:
                    answer = await client.get(
                        "/api/v1/groups",
                        params={"initiative_id": str(initiative.initiative_id)},
                        headers=staff_headers(SECRET),
                    )
                    return list(answer.json()["items"])

                (group,) = await eventually(proposed, timeout=30)
                assert isinstance(group, dict) and group["solver"] == "cp-sat"  # CP-SAT really ran

            process.send_signal(signal.SIGINT)
            code = await asyncio.wait_for(process.wait(), timeout=15)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    output = log.read_text(errors="replace")
    assert code == 0, output[-3000:]
    assert "Application shutdown complete" in output, output[-3000:]
