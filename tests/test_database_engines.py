"""shared.db.create_engine on both databases: errors never quote SQL parameters (they hold people's names
and addresses), and on SQLite a read FOR UPDATE holds off other writers until its transaction ends."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from shared.db import create_engine
from shared.testing import create_database, drop_database

pytestmark = pytest.mark.integration

metadata = MetaData()
people = Table("people", metadata, Column("id", Integer, primary_key=True), Column("email", String(100), unique=True))
SECRET_ADDRESS = "anna.andersson@example.org"


@pytest.fixture(params=["sqlite", "postgresql"])
async def engine(request: pytest.FixtureRequest, tmp_path: Path, postgres_server: str) -> AsyncIterator[AsyncEngine]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"
    if request.param == "postgresql":
        url = await create_database(postgres_server, "test_engines")
    engine = create_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    yield engine
    await engine.dispose()
    if request.param == "postgresql":
        await drop_database(url)


async def test_a_database_error_names_the_statement_but_not_the_personal_data_in_its_parameters(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as connection:
        await connection.execute(insert(people).values(id=1, email=SECRET_ADDRESS))
    with pytest.raises(IntegrityError) as raised:
        async with engine.begin() as connection:
            await connection.execute(insert(people).values(id=2, email=SECRET_ADDRESS))
    assert "INSERT INTO people" in str(raised.value)
    assert SECRET_ADDRESS not in str(raised.value) and SECRET_ADDRESS not in repr(raised.value)


async def test_on_sqlite_a_read_for_update_holds_off_another_writer_until_it_commits(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
        await connection.execute(insert(people).values(id=1, email="before"))
    sessions = async_sessionmaker(engine)
    order: list[str] = []

    async def other_writer() -> None:
        async with sessions() as session:
            await session.execute(update(people).values(email="theirs"))
            await session.commit()
            order.append("theirs committed")

    async with sessions() as session:
        assert await session.scalar(select(people.c.email).with_for_update()) == "before"
        writer = asyncio.create_task(other_writer())
        await asyncio.wait({writer}, timeout=1.0)  # a writer that does not wait commits well within this
        await session.execute(update(people).values(email="mine"))
        await session.commit()
        order.append("mine committed")
    await writer
    assert order == ["mine committed", "theirs committed"]
    async with sessions() as session:  # a plain read takes no lock: it reads beside a writer
        assert await session.scalar(select(people.c.email)) == "theirs"
        async with sessions() as writer_session:
            await writer_session.execute(update(people).values(email="again"))
            await writer_session.commit()
    await engine.dispose()
