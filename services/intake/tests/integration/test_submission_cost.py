"""What one submission costs the database: a fixed, small number of statements, its writes in one of them (its
own transaction: no BEGIN or COMMIT round trips), none of them reading other initiatives (duplicates are hinted
at review) or waiting on a shared counter row."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError

from services.intake.bootstrap import create_app
from services.intake.db import IntakeUnitOfWork, metadata
from services.intake.handlers.commands import submit_initiative
from services.intake.links import StatusLinks
from services.intake.schemas import InitiativeCreate
from services.intake.tests.conftest import intake_settings
from services.intake.tests.factories import valid_initiative
from shared.db import utcnow
from shared.migrations import upgrade
from shared.service import Infrastructure
from shared.testing import query, query_value


async def test_a_submission_with_an_idempotency_key_costs_three_statements_and_no_transaction_round_trips(
    service_database: Any, kafka_bootstrap: str, topic_namespace: str
) -> None:
    database_url = await service_database("intake")
    app = create_app(intake_settings(database_url, kafka_bootstrap, topic_namespace))
    statements: list[str] = []
    full: list[str] = []
    transactions: list[str] = []
    request_task = asyncio.current_task()  # the ASGI transport runs the request in this task

    def count(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        if asyncio.current_task() is request_task:  # not the relay's or the consumers' polling
            full.append(" ".join(statement.split()))
            statements.append(full[-1][:60])

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
    # Rate limit (one upsert), the key's earlier answer, then the initiative with its history, its event's outbox
    # row and the key's answer in one statement, each in autocommit; the reference came from the block the first
    # submission took. Nothing else, and nothing that grows with the table.
    assert len(statements) <= 3, statements
    assert transactions == [], "one statement needs no BEGIN and COMMIT around it"
    (chain,) = [s for s in full if s.startswith("WITH new_row_0 AS (INSERT INTO initiatives")]
    assert "INSERT INTO outbox" in chain, "the event commits with the state, in the initiative's statement"
    assert "INSERT INTO idempotency_keys" in chain, "the key's answer commits with the initiative"
    assert [s.split()[0] for s in statements].count("SELECT") <= 1, statements
    assert not any("FROM initiatives" in s for s in statements), statements


async def test_the_initiative_and_its_event_are_stored_together_or_not_at_all(
    service_database: Any, kafka_bootstrap: str, topic_namespace: str
) -> None:
    # One statement writes both: an event row the outbox refuses (its event id taken) leaves no initiative.
    database_url = await service_database("intake")
    infra = Infrastructure.build(intake_settings(database_url, "127.0.0.1:1", "unused."), metadata)
    links = StatusLinks("https://web.example/", "cost-tests-secret-of-at-least-32-characters")
    command = InitiativeCreate.model_validate(valid_initiative()).to_command(None)
    try:
        receipt, _ = await submit_initiative(command, IntakeUnitOfWork(infra.session_factory, infra.outbox),
                                             utcnow, links)  # fmt: skip
        (taken,) = await query(database_url, "SELECT event_id FROM outbox")
        uow = IntakeUnitOfWork(infra.session_factory, infra.outbox)
        event_row = uow.outbox_row  # every event this unit of work writes gets the first one's event id

        def colliding(event: Any) -> tuple[Any, dict[str, Any]]:
            envelope, row = event_row(event)
            return envelope, {**row, "event_id": taken["event_id"]}

        uow.outbox_row = colliding  # type: ignore[method-assign]
        with pytest.raises(IntegrityError):
            await submit_initiative(command, uow, utcnow, links)
        assert await query_value(database_url, "SELECT count(*) FROM initiatives") == 1
        assert await query_value(database_url, "SELECT count(*) FROM initiative_history") == 1
        assert await query_value(database_url, "SELECT count(*) FROM outbox") == 1
        assert str(await query_value(database_url, "SELECT id FROM initiatives")) == str(receipt.id)
    finally:
        await infra.engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
async def intake_database(request: pytest.FixtureRequest, tmp_path: Path, service_database: Any) -> str:
    if request.param == "postgresql":
        return str(await service_database("intake"))
    url = f"sqlite+aiosqlite:///{tmp_path / 'intake.db'}"
    await asyncio.to_thread(upgrade, "intake", url)
    return url


async def test_a_key_a_concurrent_request_stored_meanwhile_answers_its_receipt_and_stores_nothing_more(
    intake_database: str,
) -> None:
    # Both requests looked for the key before either stored it: this one's statement meets the other's receipt,
    # stores nothing (not its initiative, not its event) and, on its second try, answers the other's receipt.
    infra = Infrastructure.build(intake_settings(intake_database, "127.0.0.1:1", "unused."), metadata)
    links = StatusLinks("https://web.example/", "cost-tests-secret-of-at-least-32-characters")
    command = InitiativeCreate.model_validate(valid_initiative()).to_command("portal-twice")
    try:
        other, _ = await submit_initiative(command, IntakeUnitOfWork(infra.session_factory, infra.outbox),
                                           utcnow, links)  # fmt: skip
        uow = IntakeUnitOfWork(infra.session_factory, infra.outbox)
        looked = 0
        open_repositories = uow.open_repositories

        def not_seen_the_first_time(session: Any) -> None:
            open_repositories(session)
            remembered = uow.initiatives.remembered_receipt

            async def lookup(key: str) -> Any:
                nonlocal looked
                looked += 1
                return None if looked == 1 else await remembered(key)

            uow.initiatives.remembered_receipt = lookup  # type: ignore[method-assign]

        uow.open_repositories = not_seen_the_first_time  # type: ignore[method-assign]
        receipt, created = await submit_initiative(command, uow, utcnow, links)
        assert (receipt, created, looked) == (other, False, 2)
        for table in ("initiatives", "initiative_history", "outbox", "idempotency_keys"):
            assert await query_value(intake_database, f"SELECT count(*) FROM {table}") == 1, table  # noqa: S608
    finally:
        await infra.engine.dispose()
