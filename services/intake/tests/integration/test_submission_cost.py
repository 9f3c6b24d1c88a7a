"""What one submission costs the database: a fixed, small number of statements in one transaction, none of
them reading other initiatives (duplicates are hinted after the commit) or waiting on a shared counter row."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from sqlalchemy import event

from services.intake.bootstrap import create_app
from services.intake.tests.conftest import intake_settings
from services.intake.tests.factories import valid_initiative


async def test_a_submission_with_an_idempotency_key_costs_five_statements_in_one_transaction(
    service_database: Any, kafka_bootstrap: str, topic_namespace: str
) -> None:
    database_url = await service_database("intake")
    app = create_app(intake_settings(database_url, kafka_bootstrap, topic_namespace))
    statements: list[str] = []
    transactions: list[str] = []
    request_task = asyncio.current_task()  # the ASGI transport runs the request in this task

    def count(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        if asyncio.current_task() is request_task:  # not the relay's or the consumers' polling
            statements.append(" ".join(statement.split())[:60])

    def began(conn: Any) -> None:  # SQLAlchemy's "begin" fires in autocommit too, where no transaction opens
        if (
            asyncio.current_task() is request_task
            and conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT"
        ):
            transactions.append("BEGIN")

    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://intake.test") as client,
    ):
        await client.post("/api/v1/initiatives", json=valid_initiative())  # the window's purge happens here
        engine = app.state.infra.engine.sync_engine
        event.listen(engine, "before_cursor_execute", count)
        event.listen(engine, "begin", began)
        answer = await client.post("/api/v1/initiatives", json=valid_initiative(), headers={"Idempotency-Key": "k-1"})
        event.remove(engine, "before_cursor_execute", count)
        event.remove(engine, "begin", began)
    assert answer.status_code == 201
    # Rate limit (one upsert, in autocommit), the key's earlier answer, the initiative with its history (one
    # statement), the key's answer, the event in the outbox; the reference came from the block the first
    # submission took. Nothing else, and nothing that grows with the table.
    assert len(statements) <= 5, statements
    assert len(transactions) == 1, "the rate limit's count is not a transaction of its own"
    assert any(s.startswith("WITH new_row_0 AS (INSERT INTO initiatives") for s in statements), statements
    assert any(s.startswith("INSERT INTO outbox") for s in statements), "the event commits with the state"
    assert [s.split()[0] for s in statements].count("SELECT") <= 2, statements
    assert not any("FROM initiatives" in s for s in statements), statements
