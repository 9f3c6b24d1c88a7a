"""Lean baseline: a raw ASGI app on asyncpg; one transaction inserts the initiative and an outbox row.

Run: `BENCH_DATABASE_URL=postgresql://... uvicorn bench.baselines.lean:app --loop uvloop --http httptools`.
It checks the fields the portal must send and nothing more: the floor of what this machine can do.
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson

DDL = """
CREATE TABLE IF NOT EXISTS lean_initiatives (
  id uuid PRIMARY KEY, title varchar(200) NOT NULL, summary varchar(500) NOT NULL, description text NOT NULL,
  payload jsonb NOT NULL, submitted_at timestamptz NOT NULL);
CREATE TABLE IF NOT EXISTS lean_outbox (
  id uuid PRIMARY KEY, topic varchar(200) NOT NULL, payload jsonb NOT NULL, created_at timestamptz NOT NULL);
"""
REQUIRED = ("title", "summary", "originator", "themes", "seeking", "consent")
pool: asyncpg.Pool | None = None


async def respond(send: Any, status: int, body: dict[str, Any]) -> None:
    data = orjson.dumps(body)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    global pool
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                pool = await asyncpg.create_pool(os.environ["BENCH_DATABASE_URL"], min_size=4, max_size=20)
                async with pool.acquire() as connection:
                    await connection.execute(DDL)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if pool is not None:
                    await pool.close()
                await send({"type": "lifespan.shutdown.complete"})
                return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    if scope["method"] != "POST" or scope["path"] != "/api/v1/initiatives":
        await respond(send, 404, {"detail": "not found"})
        return
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        await respond(send, 422, {"detail": "invalid JSON"})
        return
    if not isinstance(data, dict) or any(field not in data for field in REQUIRED) or data["consent"] is not True:
        await respond(send, 422, {"detail": "invalid submission"})
        return
    initiative_id, now = uuid.uuid4(), datetime.now(UTC)
    assert pool is not None
    async with pool.acquire() as connection, connection.transaction():
        await connection.execute(
            "INSERT INTO lean_initiatives VALUES ($1, $2, $3, $4, $5, $6)",
            initiative_id, data["title"], data["summary"], data.get("description", ""), body.decode(), now,
        )  # fmt: skip
        await connection.execute(
            "INSERT INTO lean_outbox VALUES ($1, $2, $3, $4)",
            uuid.uuid4(), "initiatives", orjson.dumps({"id": str(initiative_id)}).decode(), now,
        )  # fmt: skip
    await respond(send, 201, {"id": str(initiative_id), "status": "submitted"})
