"""Intake's migrations on both databases it runs on (SQLite for `make run`, PostgreSQL): the newest one and
its downgrade keep every initiative and its history (SQLite rebuilds the table to drop a column), and
after them the tables are exactly what the code uses."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine

from services.intake.db import IntakeUnitOfWork, metadata
from services.intake.tests.conftest import intake_settings
from services.intake.tests.factories import new_initiative
from shared.migrations import alembic_config, upgrade
from shared.service import Infrastructure
from shared.testing import create_database, drop_database, query, query_value

pytestmark = pytest.mark.integration


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'intake.db'}"
        return
    url = await create_database(request.getfixturevalue("postgres_server"), "test_intake_migrations")
    try:
        yield url
    finally:
        await drop_database(url)


async def differences_from_the_code(url: str) -> list[object]:
    engine = create_async_engine(url)
    async with engine.connect() as connection:
        differences = await connection.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync, opts={"compare_type": True}), metadata)
        )
    await engine.dispose()
    return list(differences)


async def columns_of_initiatives(url: str) -> list[str]:
    engine = create_async_engine(url)
    async with engine.connect() as connection:
        columns = await connection.run_sync(
            lambda sync: [column["name"] for column in inspect(sync).get_columns("initiatives")]
        )
    await engine.dispose()
    return list(columns)


@asynccontextmanager
async def unit_of_work(url: str) -> AsyncIterator[IntakeUnitOfWork]:
    """Intake's unit of work on `url` (no broker: nothing here is published)."""
    infra = Infrastructure.build(intake_settings(url, "127.0.0.1:1", "unused."), metadata)
    try:
        async with IntakeUnitOfWork(infra.session_factory, infra.outbox) as uow:
            yield uow
    finally:
        await infra.engine.dispose()


async def test_possible_duplicates_goes_and_comes_back_keeping_every_initiative_and_its_history(
    database_url: str,
) -> None:
    await asyncio.to_thread(upgrade, "intake", database_url)
    assert "possible_duplicates" not in await columns_of_initiatives(database_url)
    assert await differences_from_the_code(database_url) == []
    initiative = new_initiative()
    async with unit_of_work(database_url) as uow:
        await uow.initiatives.add(initiative)
        await uow.commit()

    await asyncio.to_thread(command.downgrade, alembic_config("intake", database_url), "0007")
    rows = await query(database_url, "SELECT reference, CAST(possible_duplicates AS TEXT) AS hints FROM initiatives")
    assert rows == [{"reference": initiative.reference, "hints": "[]"}]
    assert await query_value(database_url, "SELECT count(*) FROM initiative_history") == len(initiative.history)

    await asyncio.to_thread(upgrade, "intake", database_url)
    assert await differences_from_the_code(database_url) == []
    async with unit_of_work(database_url) as uow:
        assert await uow.initiatives.get(initiative.id) == initiative
