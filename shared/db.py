"""Database mechanism: async engines for PostgreSQL or embedded SQLite, column types, and the two
conversions every repository makes (rows to domain objects and back) and its upserts, once."""

from __future__ import annotations

import dataclasses
import functools
import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import structlog
from pydantic import TypeAdapter
from sqlalchemy import BigInteger, DateTime, Integer, Select, Table, bindparam, event, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.sql import sqltypes
from sqlalchemy.sql.dml import Insert

T = TypeVar("T")
log = structlog.get_logger(__name__)

# Autoincrementing 64-bit keys on PostgreSQL; SQLite only autoincrements INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer, "sqlite")


def Timestamp() -> DateTime:  # noqa: N802 - reads like a column type
    return DateTime(timezone=True)


def utcnow() -> datetime:
    return datetime.now(UTC)


Clock = Callable[[], datetime]
"""What handlers are given to tell the time (utcnow in services, a fixed clock in tests)."""


def as_aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; every stored moment is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def create_engine(url: str) -> AsyncEngine:
    """An engine whose errors never quote SQL parameters (they hold names and addresses: tracebacks, the
    DLQ's error header and logs show the statement only).

    On SQLite a `SELECT ... FOR UPDATE` (which SQLite does not have) takes the database's write lock
    (`BEGIN IMMEDIATE`) when no transaction holds it yet, so a read-modify-write is as atomic as with a
    locked row on PostgreSQL: otherwise its read would run outside any transaction and its write would
    overwrite a change committed in between (a sender's stale copy undoing an erasure). Plain reads
    still run beside the writer (WAL).
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30}, hide_parameters=True)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            # What is deleted or overwritten is overwritten with zeros in the file, not left in freed space:
            # an erased name must not survive in the database file (see `wipe_after_erasure` for the WAL).
            cursor.execute("PRAGMA secure_delete=ON")
            cursor.close()

        @event.listens_for(engine.sync_engine, "before_execute")
        def _lock_for_update(connection: Connection, statement: Any, *_: Any) -> None:
            wants_lock = isinstance(statement, Select) and statement._for_update_arg is not None
            if wants_lock and not connection.connection.driver_connection.in_transaction:  # type: ignore[union-attr]
                # The driver then sees a transaction open and uses it; its commit()/rollback() end it.
                connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    engine = create_async_engine(url, pool_size=10, max_overflow=10, hide_parameters=True)
    _check_at_checkout(engine)
    return engine


@functools.cache
def autocommitting(engine: AsyncEngine) -> AsyncEngine:
    """The engine's autocommit view (the same pool): each statement is its own transaction, without BEGIN and
    COMMIT round trips around it; made once per engine."""
    return engine.execution_options(isolation_level="AUTOCOMMIT")


class DriverStatement:
    """A PostgreSQL statement compiled once and run on asyncpg's own connection beneath a pooled SQLAlchemy one:
    per execution no compilation, cache key, parameter processing or result wrapping, which cost about as much CPU
    as asyncpg's whole round trip. Only for a hot statement whose parameters are text and numbers (no type needs
    converting); its errors are asyncpg's own (DRIVER_ERRORS)."""

    def __init__(self, statement: Any, dialect: Any) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql = str(compiled)
        self._names = tuple(compiled.positiontup or ())
        self._constants = {name: bind.effective_value for name, bind in compiled.binds.items() if not bind.required}

    async def fetchrow(self, connection: AsyncConnection, parameters: Mapping[str, Any]) -> Any:
        driver = (await connection.get_raw_connection()).driver_connection
        assert driver is not None
        values = {**self._constants, **parameters}
        return await driver.fetchrow(self.sql, *(values[name] for name in self._names))


DRIVER_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError)


PING_AFTER_IDLE_SECONDS = 5.0
"""A pooled connection idle longer than this is pinged before use; one in steady use is not."""


def _check_at_checkout(engine: AsyncEngine) -> None:
    """A cheaper pre-ping: a connection whose socket the driver saw closed (the server restarted or ended the
    backend) is replaced without a round trip, and only one idle for a while is pinged. SQLAlchemy's
    `pool_pre_ping` costs three round trips (BEGIN, ';', ROLLBACK on asyncpg) at every checkout, which on the
    submission path were as many as its own statements."""

    @event.listens_for(engine.sync_engine, "checkin")
    def _idle_from(_: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _usable(dbapi_connection: Any, record: Any, _: Any) -> None:
        driver = dbapi_connection.driver_connection
        if driver is None or driver.is_closed():
            raise DisconnectionError("the connection was closed")
        if time.monotonic() - record.info.get("idle_since", 0.0) > PING_AFTER_IDLE_SECONDS:
            try:
                dbapi_connection.ping()
            except Exception as exc:
                raise DisconnectionError("the connection does not answer") from exc


ERASURE_MARK = "meetmalmo.erased_personal_data"


def mark_erasure(session: AsyncSession) -> None:
    """This transaction erases personal data: once it commits, `wipe_after_erasure` runs (UnitOfWork.commit)."""
    session.info[ERASURE_MARK] = True


async def wipe_after_erasure(session: AsyncSession) -> None:
    """Remove the old page images an erasure leaves behind, where the engine allows it.

    SQLite (WAL mode) keeps the pages as they were before a change in the `-wal` file until a checkpoint,
    and keeps the file's frames after it: the erased name would still be on disk. A TRUNCATE checkpoint
    copies every frame into the database (where `secure_delete` has zeroed the erased cells) and empties
    the `-wal` file. It waits (busy_timeout) for readers of older snapshots; if it still cannot finish, it
    says so and the next erasure's checkpoint (or SQLite's own) completes it.

    PostgreSQL keeps dead row versions until (auto)vacuum reclaims them, and its WAL until the archive's
    retention: not reachable through SQL, so nothing is done here (README, "Guarantees").
    """
    bind = session.bind
    if not isinstance(bind, AsyncEngine) or bind.dialect.name != "sqlite":
        return
    async with bind.connect() as connection:
        checkpoint = (await connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")).one()
    if checkpoint[0]:  # (busy, WAL frames, frames checkpointed): busy means it could not finish
        log.warning("erasure.wal_not_truncated")


async def database_is_reachable(engine: AsyncEngine) -> bool:
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        return True
    except Exception:
        return False


# --- rows <-> domain objects ----------------------------------------------------------------------


@functools.cache
def _adapter(cls: type[Any]) -> TypeAdapter[Any]:
    return TypeAdapter(cls)


def from_row(cls: type[T], row: Mapping[Any, Any], **overrides: Any) -> T:
    """A domain dataclass from a table row: columns matched to fields by name and coerced to the
    fields' types (str to enum, JSON list to tuple of enums), SQLite's naive datetimes read as UTC.
    `overrides` supply the fields that are not one column (a nested value object, a child table)."""
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    values = {
        name: as_aware(value) if isinstance(value, datetime) else value
        for name, value in row.items()
        if name in names and name not in overrides
    }
    return _adapter(cls).validate_python({**values, **overrides})  # type: ignore[no-any-return,arg-type]


def _column_value(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple | list | frozenset | set):
        return [_column_value(item) for item in value]
    return value


def to_row(obj: object, table: Table, **overrides: Any) -> dict[str, Any]:
    """The table's columns read from the object's attributes of the same name (enums as their
    values, tuples as JSON lists); `overrides` give the columns the object does not hold as such."""
    values = {
        column.name: _column_value(getattr(obj, column.name))
        for column in table.columns
        if column.name not in overrides and hasattr(obj, column.name)
    }
    return {**values, **overrides}


# --- one INSERT ... ON CONFLICT for both dialects ----------------------------------------------------


def _insert(session: AsyncSession, table: Table) -> Any:
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def insert_ignore(session: AsyncSession, table: Table, values: Mapping[str, Any]) -> Insert:
    """INSERT that skips a row whose key already exists (the result's rowcount tells which happened)."""
    return _insert(session, table).values(**values).on_conflict_do_nothing()  # type: ignore[no-any-return]


def insert_ignore_many(session: AsyncSession, table: Table) -> Insert:
    """`insert_ignore` executed with a list of rows: one statement compiled once, its rows sent in pages (as
    `upsert_many`); with RETURNING it names the rows inserted, not those skipped."""
    return _insert(session, table).on_conflict_do_nothing()  # type: ignore[no-any-return]


def upsert(
    session: AsyncSession, table: Table, values: Mapping[str, Any], *, key: Sequence[str], update: Mapping[str, Any]
) -> Insert:
    """INSERT, or on a conflict on `key` UPDATE the `update` columns (values or SQL expressions)."""
    statement = _insert(session, table).values(**values)
    return statement.on_conflict_do_update(  # type: ignore[no-any-return]
        index_elements=[table.c[name] for name in key], set_=dict(update)
    )


def upsert_many(session: AsyncSession, table: Table, *, key: Sequence[str], update: Sequence[str]) -> Insert:
    """INSERT, or on a conflict on `key` UPDATE the `update` columns from the row offered: executed with a
    list of rows (no two with the same key) it is one statement compiled once, its rows sent in pages
    (SQLAlchemy's "insertmanyvalues"), not a VALUES list compiled anew for every count of rows."""
    statement = _insert(session, table)
    return statement.on_conflict_do_update(  # type: ignore[no-any-return]
        index_elements=[table.c[name] for name in key], set_={name: statement.excluded[name] for name in update}
    )


async def write_rows(
    session: AsyncSession,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    key: Sequence[str] = (),
    update: Sequence[str] = (),
) -> None:
    """INSERT `rows` (all with the same columns, no two with the same key), or with `key` UPSERT them as
    `upsert_many` does. On PostgreSQL it is ONE execution whatever the number of rows: each column goes as one
    array parameter and the rows come out of `unnest` in the server, so neither SQLAlchemy (its parameter
    processing, per row and column) nor the server (a bind and execute per row) does work per row; a replay
    writes hundreds of rows a batch. Elsewhere (SQLite) the executemany of `upsert_many` or a plain insert."""
    if not rows:
        return
    names = tuple(rows[0])
    if session.get_bind().dialect.name != "postgresql":
        statement = upsert_many(session, table, key=key, update=update) if key else _insert(session, table)
        await session.execute(statement, list(rows))
        return
    await session.execute(_unnest_insert(table, names, tuple(key), tuple(update)), _arrays(table, names, rows))


async def update_rows(
    session: AsyncSession, table: Table, rows: Sequence[Mapping[str, Any]], *, key: Sequence[str] = ("id",)
) -> None:
    """UPDATE the rows named by `key` to the other values of `rows` (all with the same columns, no two with the
    same key; a row whose key is not there changes nothing). On PostgreSQL ONE execution whatever the number of
    rows, as `write_rows` does (`UPDATE ... FROM unnest(...)`), so that a round's outcomes are one statement, not
    one per row; elsewhere (SQLite) an executemany of one UPDATE by the key."""
    if not rows:
        return
    changed = tuple(name for name in rows[0] if name not in key)
    connection = await session.connection()  # Core on the transaction's connection: no ORM bookkeeping per call
    if session.get_bind().dialect.name != "postgresql":
        by_key = [{**{f"key_{name}": row[name] for name in key}, **{n: row[n] for n in changed}} for row in rows]
        await connection.execute(_update_by_key(table, tuple(key)), by_key)
        return
    await connection.execute(_unnest_update(table, tuple(key), changed), _arrays(table, (*key, *changed), rows))


@functools.cache
def _update_by_key(table: Table, key: tuple[str, ...]) -> Any:
    """`UPDATE t SET <the row's other columns> WHERE <key> = :key_<key>` (executemany takes SET from the rows)."""
    return table.update().where(*(table.c[name] == bindparam(f"key_{name}") for name in key))


def _arrays(table: Table, names: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> dict[str, list[Any]]:
    """Each column's values as one array parameter, `c0`, `c1`, ... in the order of `names` (JSON as text)."""
    json_columns = {name for name in names if isinstance(table.c[name].type, sqltypes.JSON)}
    return {
        f"c{index}": [json.dumps(row[name]) for row in rows] if name in json_columns else [row[name] for row in rows]
        for index, name in enumerate(names)
    }


async def present(session: AsyncSession, table: Table, column: str, values: Iterable[Any], **equal: Any) -> set[Any]:
    """Which of `values` are in `table`'s `column` (on the rows whose other columns are `equal` to these): for a
    set of keys, such as a batch's event ids among the processed marks.

    On PostgreSQL the values go as one array, each looked up on its own (a LATERAL subquery with LIMIT 1, which
    the planner cannot turn into a join): the planner would otherwise take `col IN (...)` or `= ANY(...)` of a
    few hundred values for a scan of every row on the equal columns (a batch's look at the marks scanned them
    all: 10 ms at 70,000 marks, growing with the table), unless the table's statistics happen to be fresh.
    Elsewhere (SQLite) an IN list. The columns are expected to be indexed together (a key)."""
    wanted = list(dict.fromkeys(values))
    if not wanted:
        return set()
    if session.get_bind().dialect.name != "postgresql":
        where = [table.c[name] == value for name, value in equal.items()]
        return set(await session.scalars(select(table.c[column]).where(table.c[column].in_(wanted), *where)))
    statement = _lateral_lookup(table, column, tuple(equal))
    found = await session.scalars(statement, {"values": wanted, **{f"e{i}": v for i, v in enumerate(equal.values())}})
    return set(found)


@functools.cache
def _lateral_lookup(table: Table, column: str, equal: tuple[str, ...]) -> Any:
    """`SELECT v FROM unnest(CAST(:values AS type[])) AS wanted(v) CROSS JOIN LATERAL (SELECT 1 FROM t WHERE
    t.a = :e0 AND t.column = v LIMIT 1) AS found`, built once per table and columns."""
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    quote = dialect.identifier_preparer.quote
    conditions = [f"t.{quote(name)} = :e{index}" for index, name in enumerate(equal)]
    conditions.append(f"t.{quote(column)} = wanted.v")
    array = _array_of(table.c[column].type, dialect)
    # Only the table's own (quoted) names and types go into the text; every value is a parameter.
    sql = (
        f"SELECT wanted.v FROM unnest(CAST(:values AS {array})) AS wanted(v) CROSS JOIN LATERAL "  # noqa: S608
        f"(SELECT 1 FROM {quote(table.name)} AS t WHERE {' AND '.join(conditions)} LIMIT 1) AS found"
    )
    return text(sql).columns(v=table.c[column].type)


def _array_of(column_type: Any, dialect: Any) -> str:
    """The array type a column's values travel in: strings as TEXT, whose length the column then checks (an
    explicit CAST to VARCHAR(n) would cut a longer value silently instead of refusing it)."""
    if isinstance(column_type, sqltypes.String):
        return "TEXT[]"
    return f"{column_type.compile(dialect=dialect)}[]"


@functools.cache
def _unnest_insert(table: Table, names: tuple[str, ...], key: tuple[str, ...], update: tuple[str, ...]) -> Any:
    """`INSERT INTO t (a, b) SELECT * FROM unnest(CAST(:c0 AS type_a[]), ...) [ON CONFLICT (key) DO UPDATE ...]`,
    built once per table and set of columns."""
    quote = postgresql.dialect().identifier_preparer.quote  # type: ignore[no-untyped-call]
    arrays = _unnest_arrays(table, names)
    # Only the table's own (quoted) names and types go into the text; every value is a parameter.
    sql = f"INSERT INTO {quote(table.name)} ({', '.join(map(quote, names))}) SELECT * FROM unnest({arrays})"  # noqa: S608
    if key:
        changes = ", ".join(f"{quote(name)} = excluded.{quote(name)}" for name in update)
        sql += f" ON CONFLICT ({', '.join(map(quote, key))}) DO " + (f"UPDATE SET {changes}" if changes else "NOTHING")
    return text(sql)


def _unnest_arrays(table: Table, names: Sequence[str]) -> str:
    """`CAST(:c0 AS type_a[]), CAST(:c1 AS type_b[]), ...`: the arrays of `_arrays`, typed for `unnest`."""
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    return ", ".join(f"CAST(:c{index} AS {_array_of(table.c[name].type, dialect)})" for index, name in enumerate(names))


@functools.cache
def _unnest_update(table: Table, key: tuple[str, ...], changed: tuple[str, ...]) -> Any:
    """`UPDATE t SET a = v.a, ... FROM unnest(CAST(:c0 AS type_key[]), CAST(:c1 AS type_a[]), ...) AS v(key, a, ...)
    WHERE t.key = v.key`, built once per table and set of columns."""
    quote = postgresql.dialect().identifier_preparer.quote  # type: ignore[no-untyped-call]
    names = (*key, *changed)
    target = quote(table.name)
    changes = ", ".join(f"{quote(name)} = v.{quote(name)}" for name in changed)
    match = " AND ".join(f"{target}.{quote(name)} = v.{quote(name)}" for name in key)
    columns = ", ".join(map(quote, names))
    # Only the table's own (quoted) names and types go into the text; every value is a parameter.
    sql = f"UPDATE {target} SET {changes} FROM unnest({_unnest_arrays(table, names)}) AS v({columns}) WHERE {match}"  # noqa: S608
    return text(sql)
