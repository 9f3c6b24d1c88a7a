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


@pytest.mark.parametrize("marked", [True, False])
async def test_on_sqlite_a_committed_erasure_leaves_the_erased_value_in_no_file_on_disk(
    tmp_path: Path, marked: bool
) -> None:
    """An erasure's unit of work (`mark_erasure`) checkpoints and empties the WAL, where SQLite keeps the pages
    as they were, and `secure_delete` zeroes the deleted cells in the database file. Unmarked, the same delete
    leaves the address in the `-wal` file: what the erasure must not do."""
    from shared.db import mark_erasure
    from shared.outbox import Outbox, define_outbox_table
    from shared.testing import files_mentioning
    from shared.unit_of_work import UnitOfWork

    url = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"
    engine = create_engine(url)
    tables = MetaData()
    people_table = people.to_metadata(tables)
    outbox = Outbox(define_outbox_table(tables), producer="test")
    async with engine.begin() as connection:
        await connection.run_sync(tables.create_all)
    for n in range(20):  # others stay, so pages are rewritten rather than dropped whole
        async with engine.begin() as connection:
            await connection.execute(insert(people_table).values(id=n + 2, email=f"other{n}@example.org"))
    async with engine.begin() as connection:
        await connection.execute(insert(people_table).values(id=1, email=SECRET_ADDRESS))
    assert files_mentioning(tmp_path, SECRET_ADDRESS)  # the scan sees it while it is there

    async with UnitOfWork(async_sessionmaker(engine, expire_on_commit=False), outbox) as uow:
        await uow.session.execute(people_table.delete().where(people_table.c.id == 1))
        if marked:
            mark_erasure(uow.session)
        await uow.commit()

    found = files_mentioning(tmp_path, SECRET_ADDRESS)
    await engine.dispose()
    if marked:
        assert found == {}
    else:
        assert "db.sqlite-wal" in found
