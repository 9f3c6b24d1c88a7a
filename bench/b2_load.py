"""B2's open-loop load: valid distinct portal submissions on a fixed schedule (`rate` a second), each sent at its
time whether or not earlier ones were answered, over 64 kept HTTP/1.1 connections. A process of its own.

    .venv/bin/python -m bench.b2_load URL RATE SECONDS OUTPUT

OUTPUT gets one JSON object: per request its scheduled and actual send time, when its answer came, the status
and the reference (wall-clock seconds, comparable with the SMTP sink's).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import re
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

WORDS = re.findall(r'"([^"]+)"', (Path(__file__).parent / "wrk" / "submit.lua").read_text().split("}", 1)[0])
REFERENCE = re.compile(rb'"reference"\s*:\s*"([^"]+)"')


def body(n: int, tag: int, rng: random.Random) -> dict[str, Any]:
    title = " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 6))) + f" {tag}-{n}"
    return {
        "title": title, "summary": f"Ett initiativ om {title} i Malmö.",
        "description": "Vi söker partner för att pröva idén tillsammans med staden.",
        "originator": {"organisation_name": "Bench AB", "organisation_type": "business",
                       "contact_name": "Bench Person", "contact_email": f"bench{tag}-{n}@bench.example"},
        "themes": ["employment"], "seeking": ["collaboration_partners"], "competences_needed": ["recruitment"],
        "group_size": {"min": 2, "max": 4}, "consent": True,
    }  # fmt: skip


class Connection:
    """One kept HTTP/1.1 connection, spoken by hand: httpx costs ~3 ms of CPU a request, which on a shared 2-core
    machine made the generator itself fall behind 200/s; this costs a small fraction of that."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, request: bytes) -> tuple[int, bytes]:
        if self.writer is None or self.writer.is_closing():
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        try:
            self.writer.write(request)
            head = await self.reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
            if length is None:  # intake always says how long its answer is; anything else ends the connection
                self.close()
                return status, b""
            body = await self.reader.readexactly(int(length.group(1)))
            if re.search(rb"(?i)\r\nconnection:\s*close", head):
                self.close()
            return status, body
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def load(
    url: str, rate: float, seconds: float, connections: int = 64, patience: float = 5.0
) -> list[dict[str, Any]]:
    """Each request is due at its time and taken at once by whichever connection is free; `patience` seconds after
    the last is due, what is still unanswered (or unsent) counts as such."""
    rng, tag = random.Random(), random.randint(100000, 999999)
    count = int(rate * seconds)
    where = urlsplit(url)
    host, port = where.hostname or "127.0.0.1", where.port or 80
    requests = []
    for n in range(count):  # built before the clock starts
        content = json.dumps(body(n, tag, rng)).encode()
        requests.append(f"POST {where.path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
                        f"Content-Length: {len(content)}\r\n\r\n".encode() + content)  # fmt: skip
    results: list[dict[str, Any]] = []
    due: asyncio.Queue[tuple[int, float]] = asyncio.Queue()

    async def connection() -> None:
        kept = Connection(host, port)
        while True:
            n, scheduled = await due.get()
            sent = time.time()
            try:
                status, answer = await asyncio.wait_for(kept.post(requests[n]), timeout=10.0)
                found = REFERENCE.search(answer)
                outcome: int | str = status
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError, TimeoutError) as exc:
                outcome, found = type(exc).__name__, None
            except asyncio.CancelledError:
                outcome, found = "unanswered", None
            results.append({"scheduled": scheduled, "sent": sent, "answered": time.time(), "status": outcome,
                            "reference": found.group(1).decode() if found else None})  # fmt: skip
            due.task_done()
            if outcome == "unanswered":
                kept.close()
                return

    workers = [asyncio.create_task(connection()) for _ in range(connections)]
    start = time.time() + 0.2
    for n in range(count):
        scheduled = start + n / rate
        delay = scheduled - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        due.put_nowait((n, scheduled))
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(due.join(), timeout=patience)
    for worker in workers:
        worker.cancel()
    await asyncio.gather(*workers, return_exceptions=True)
    while not due.empty():  # never sent: no connection came free in time
        n, scheduled = due.get_nowait()
        results.append({"scheduled": scheduled, "sent": None, "answered": None, "status": "unsent", "reference": None})
    return results


def main() -> None:
    url, rate, seconds, output = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), Path(sys.argv[4])
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    output.write_text(json.dumps(asyncio.run(load(url, rate, seconds))))


if __name__ == "__main__":
    main()
