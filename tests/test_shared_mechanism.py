"""The mechanism every service is built on: periodic jobs, the message bus, rows <-> domain, upserts."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import JSON, Column, Integer, MetaData, String, Table, Uuid, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import async_sessionmaker

from shared.db import (
    Timestamp,
    _lateral_lookup,
    create_engine,
    from_row,
    insert_ignore,
    present,
    to_row,
    update_rows,
    upsert,
    write_rows,
)
from shared.jobs import AT_ONCE, Backoff, Pause, PeriodicJob, retry_until_done
from shared.messagebus import MessageBus, retry_once_on
from shared.testing import create_database, drop_database, eventually


@dataclass(frozen=True)
class Paint:  # one field of each kind to_row and from_row convert: an id, an enum, a tuple of enums, a moment, a number
    id: uuid.UUID
    colour: Colour
    shades: tuple[Colour, ...]
    mixed_at: datetime
    litres: int


class Colour(StrEnum):
    RED = "red"
    BLUE = "blue"


KINDS = {"colour": String(10), "shades": JSON, "mixed_at": Timestamp(), "litres": Integer}  # none of them null
paints = Table(
    "paints",
    MetaData(),
    Column("id", Uuid, primary_key=True),
    *(Column(n, t, nullable=False) for n, t in KINDS.items()),
)
marks = Table(  # a key of two columns, as a consumer's processed marks
    "marks", paints.metadata, Column("owner", String(20), primary_key=True), Column("id", Uuid, primary_key=True)
)


# --- periodic jobs and retries -------------------------------------------------------------------


async def test_a_failing_round_is_retried_with_backoff_and_the_job_goes_on() -> None:
    rounds: list[str] = []

    async def step() -> float | None:
        rounds.append("round")
        if len(rounds) < 3:
            raise ConnectionError("database away")
        return None

    job = PeriodicJob("probe", step, interval=60.0, backoff=Backoff(0.01, 0.02))
    task = asyncio.create_task(job.run())
    try:
        await eventually(lambda: len(rounds) >= 3, timeout=5)
        await asyncio.sleep(0.1)
        assert len(rounds) == 3  # after a success it waits for the interval (60 s), not for the backoff
    finally:
        task.cancel()


async def test_waking_a_job_starts_its_next_round_before_the_interval() -> None:
    rounds = 0

    async def step() -> float | None:
        nonlocal rounds
        rounds += 1
        return None

    job = PeriodicJob("probe", step, interval=60.0)
    task = asyncio.create_task(job.run())
    try:
        await eventually(lambda: rounds == 1, timeout=5)
        job.wake()
        await eventually(lambda: rounds == 2, timeout=5)
    finally:
        task.cancel()


async def test_a_round_that_asks_runs_again_at_once_or_after_its_pause_and_a_count_means_the_interval() -> None:
    rounds: list[float] = []
    answers: list[object] = [AT_ONCE, AT_ONCE, Pause(30.0)]

    async def step() -> object:
        rounds.append(asyncio.get_running_loop().time())
        return answers[len(rounds) - 1] if len(rounds) <= len(answers) else None

    job = PeriodicJob("probe", step, interval=60.0)
    task = asyncio.create_task(job.run())
    try:
        await eventually(lambda: len(rounds) == 3, timeout=5)
        job.wake()  # a wake-up does not shorten a pause the step asked for
        await asyncio.sleep(0.1)
        assert len(rounds) == 3
    finally:
        task.cancel()


async def test_retry_until_done_returns_the_first_success_and_cleans_up_after_each_failure() -> None:
    attempts, cleanups = 0, 0

    async def attempt() -> str:
        nonlocal attempts
        attempts += 1
        if attempts < 3:
            raise OSError("refused")
        return "connected"

    async def clean_up() -> None:
        nonlocal cleanups
        cleanups += 1

    result = await retry_until_done(attempt, what="probe", backoff=Backoff(0.001, 0.002), after_failure=clean_up)
    assert (result, attempts, cleanups) == ("connected", 3, 2)


# --- the message bus -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Greet:
    name: str


@dataclass(frozen=True)
class Shout:
    name: str


class FakeUnitOfWork:
    opened = 0

    def __init__(self) -> None:
        FakeUnitOfWork.opened += 1


async def greet(command: Greet, uow: FakeUnitOfWork, greeting: str) -> str:
    return f"{greeting}, {command.name}"


def test_the_bus_gives_each_handler_only_the_dependencies_it_names_and_a_fresh_unit_of_work() -> None:
    received: list[Any] = []

    async def shout(command: Shout, uow: FakeUnitOfWork) -> str:
        received.append(uow)
        return command.name.upper()

    bus: MessageBus[Any] = MessageBus(FakeUnitOfWork, {Greet: greet, Shout: shout}, {"greeting": "Hej", "other": 1})
    assert asyncio.run(bus.handle(Greet("Eva"))) == "Hej, Eva"
    before = FakeUnitOfWork.opened
    assert asyncio.run(bus.handle(Shout("eva"))) == "EVA"
    assert FakeUnitOfWork.opened == before + 1 and isinstance(received[0], FakeUnitOfWork)


def test_a_message_without_a_handler_is_refused_by_name() -> None:
    bus: MessageBus[Any] = MessageBus(FakeUnitOfWork, {}, {})
    with pytest.raises(LookupError, match="Greet"):
        asyncio.run(bus.handle(Greet("Eva")))


def test_retry_once_on_runs_a_handler_that_lost_a_race_once_more_and_no_more() -> None:
    calls = 0

    @retry_once_on(KeyError)
    async def racy(command: Greet, uow: FakeUnitOfWork, greeting: str) -> str:
        nonlocal calls
        calls += 1
        if command.name == "always" or calls == 1:
            raise KeyError("someone else was first")
        return greeting

    bus: MessageBus[Any] = MessageBus(FakeUnitOfWork, {Greet: racy}, {"greeting": "Hej"})
    assert asyncio.run(bus.handle(Greet("Eva"))) == "Hej" and calls == 2
    calls = 0
    with pytest.raises(KeyError):
        asyncio.run(bus.handle(Greet("always")))
    assert calls == 2


# --- rows <-> domain objects, upserts on both databases ----------------------------------------------


def test_a_row_becomes_a_domain_object_with_enums_tuples_and_utc_times_and_back() -> None:
    paint = Paint(uuid.uuid4(), Colour.RED, (Colour.BLUE, Colour.RED), datetime(2026, 5, 1, 12, tzinfo=UTC), 3)
    row = to_row(paint, paints)
    assert row == {
        "id": paint.id,
        "colour": "red",
        "shades": ["blue", "red"],
        "mixed_at": paint.mixed_at,
        "litres": 3,
    }
    naive = {**row, "mixed_at": datetime(2026, 5, 1, 12)}  # as SQLite hands it back
    assert from_row(Paint, naive) == paint
    assert from_row(Paint, naive, litres=5).litres == 5


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'paints.db'}"
        return
    server: str = request.getfixturevalue("postgres_server")
    url = await create_database(server, "test_mechanism")
    yield url
    await drop_database(url)


async def with_session(url: str, work: Callable[[Any], Awaitable[Any]]) -> Any:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(paints.metadata.create_all)
        async with async_sessionmaker(engine)() as session, session.begin():
            return await work(session)
    finally:
        await engine.dispose()


async def test_insert_ignore_skips_an_existing_key_and_upsert_updates_it(database_url: str) -> None:
    paint = Paint(uuid.uuid4(), Colour.RED, (), datetime(2026, 5, 1, tzinfo=UTC), 1)

    async def work(session: Any) -> list[Any]:
        first = await session.execute(insert_ignore(session, paints, to_row(paint, paints)))
        again = await session.execute(insert_ignore(session, paints, to_row(paint, paints, litres=9)))
        litres = await session.execute(
            upsert(
                session, paints, to_row(paint, paints), key=["id"], update={"litres": paints.c.litres + 1}
            ).returning(paints.c.litres)
        )
        stored = (await session.execute(select(paints))).mappings().one()
        return [first.rowcount, again.rowcount, litres.scalar_one(), from_row(Paint, stored)]

    inserted, ignored, litres, stored = await with_session(database_url, work)
    assert (inserted, ignored, litres) == (1, 0, 2)
    assert stored.litres == 2 and stored.colour is Colour.RED


async def test_write_rows_inserts_many_rows_and_with_a_key_updates_the_existing_ones_keeping_every_kind(
    database_url: str,
) -> None:
    first = Paint(uuid.uuid4(), Colour.RED, (Colour.BLUE, Colour.RED), datetime(2026, 5, 1, 12, tzinfo=UTC), 1)
    second = Paint(uuid.uuid4(), Colour.BLUE, (), datetime(2026, 5, 2, 9, 30, tzinfo=UTC), 2)
    third = Paint(uuid.uuid4(), Colour.BLUE, (Colour.RED,), datetime(2026, 5, 3, tzinfo=UTC), 3)
    changed = Paint(first.id, Colour.BLUE, (Colour.BLUE,), datetime(2026, 6, 1, tzinfo=UTC), 7)

    async def work(session: Any) -> list[Paint]:
        await write_rows(session, paints, [to_row(first, paints), to_row(second, paints)])
        await write_rows(
            session, paints, [to_row(changed, paints), to_row(third, paints, litres=4)], key=["id"],
            update=["colour", "shades", "mixed_at", "litres"],
        )  # fmt: skip
        await write_rows(session, paints, [], key=["id"], update=["litres"])  # nothing to write: no statement
        stored = (await session.execute(select(paints))).mappings().all()
        return sorted((from_row(Paint, row) for row in stored), key=lambda p: p.litres)

    stored = await with_session(database_url, work)
    assert stored == [second, dataclasses.replace(third, litres=4), changed]


async def test_present_names_the_values_found_with_the_other_key_columns_equal(database_url: str) -> None:
    mine, theirs, missing = [uuid.uuid4() for _ in range(3)], uuid.uuid4(), uuid.uuid4()

    async def work(session: Any) -> list[set[Any]]:
        rows = [{"owner": "matching", "id": i} for i in mine] + [{"owner": "notifications", "id": theirs}]
        await write_rows(session, marks, rows)
        asked = [*mine, mine[0], theirs, missing]  # a value twice, another owner's, one nowhere
        return [await present(session, marks, "id", asked, owner="matching"), await present(session, marks, "id", [])]

    found, nothing = await with_session(database_url, work)
    assert found == set(mine)
    assert nothing == set()


async def test_present_looks_each_value_up_in_the_index_even_before_the_table_has_statistics(
    postgres_server: str,
) -> None:
    url = await create_database(postgres_server, "test_mechanism")
    try:

        async def work(session: Any) -> str:
            await write_rows(session, marks, [{"owner": "matching", "id": uuid.uuid4()} for _ in range(20_000)])
            statement = _lateral_lookup(marks, "id", ("owner",))
            asked = {"values": [uuid.uuid4() for _ in range(500)], "e0": "matching"}  # a batch's event ids
            plan = await session.scalars(text(f"EXPLAIN {statement.element.text}"), asked)
            return "\n".join(plan)

        plan = await with_session(url, work)
        # Not one scan of the owner's rows filtered by the 500 values (what `id IN (...)` got): a probe per value.
        assert "Index Only Scan using marks_pkey" in plan or "Index Scan using marks_pkey" in plan, plan
        assert "Seq Scan on marks" not in plan and "Bitmap" not in plan, plan
    finally:
        await drop_database(url)


async def test_update_rows_changes_each_named_row_to_its_own_values_and_leaves_the_others(database_url: str) -> None:
    first = Paint(uuid.uuid4(), Colour.RED, (Colour.BLUE, Colour.RED), datetime(2026, 5, 1, 12, tzinfo=UTC), 1)
    second = Paint(uuid.uuid4(), Colour.BLUE, (), datetime(2026, 5, 2, 9, 30, tzinfo=UTC), 2)
    untouched = Paint(uuid.uuid4(), Colour.BLUE, (Colour.RED,), datetime(2026, 5, 3, tzinfo=UTC), 3)
    first_now = Paint(first.id, Colour.BLUE, (Colour.BLUE,), datetime(2026, 6, 1, tzinfo=UTC), 7)
    second_now = dataclasses.replace(second, shades=(Colour.RED, Colour.RED), litres=8)
    nowhere = Paint(uuid.uuid4(), Colour.RED, (), datetime(2026, 7, 1, tzinfo=UTC), 9)  # no such row

    async def work(session: Any) -> list[Paint]:
        await write_rows(session, paints, [to_row(p, paints) for p in (first, second, untouched)])
        await update_rows(session, paints, [to_row(p, paints) for p in (second_now, nowhere, first_now)])
        await update_rows(session, paints, [])  # nothing to change: no statement
        stored = (await session.execute(select(paints))).mappings().all()
        return sorted((from_row(Paint, row) for row in stored), key=lambda p: p.litres)

    assert await with_session(database_url, work) == [untouched, first_now, second_now]


@pytest.mark.parametrize("writing", ["insert", "update"])
async def test_write_rows_and_update_rows_refuse_a_value_longer_than_its_column_on_postgresql_rather_than_cutting_it(
    postgres_server: str, writing: str
) -> None:
    url = await create_database(postgres_server, "test_mechanism")
    paint = Paint(uuid.uuid4(), Colour.RED, (), datetime(2026, 5, 1, tzinfo=UTC), 1)
    try:

        async def work(session: Any) -> None:
            long = to_row(paint, paints, colour="ultramarine blue")  # 16 > 10
            if writing == "insert":
                await write_rows(session, paints, [long])
            else:
                await write_rows(session, paints, [to_row(paint, paints)])
                await update_rows(session, paints, [long])

        with pytest.raises(DBAPIError, match="too long"):
            await with_session(url, work)
    finally:
        await drop_database(url)


async def test_a_round_that_returns_a_count_waits_for_the_interval_instead_of_spinning() -> None:
    rounds = 0

    async def step() -> int:
        nonlocal rounds
        rounds += 1
        return 0  # "nothing purged": a count, not a wish to run again at once

    task = asyncio.create_task(PeriodicJob("probe", step, interval=60.0).run())
    try:
        await eventually(lambda: rounds == 1, timeout=5)
        await asyncio.sleep(0.1)
        assert rounds == 1
    finally:
        task.cancel()


def test_plain_and_multiline_text_refuse_exactly_unicodes_control_characters_and_lone_surrogates() -> None:
    """The character classes in shared.validation are Unicode's categories Cc and Cs, checked over every code
    point: multiline text welcomes a tab and line breaks, and nothing else of them."""
    import sys
    import unicodedata

    from shared.validation import multiline_text, plain_text

    def refused(check: Callable[[str], str], char: str) -> bool:
        try:
            check(f"a{char}b")
        except ValueError:
            return True
        return False

    for point in range(sys.maxunicode + 1):
        char = chr(point)
        control = unicodedata.category(char) in {"Cc", "Cs"}
        assert refused(plain_text, char) == control, hex(point)
        assert refused(multiline_text, char) == (control and char not in "\t\n\r"), hex(point)
