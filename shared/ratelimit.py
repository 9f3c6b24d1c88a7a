"""Public rate limits whose counters live in the service's own database, so every replica counts into
the same bucket, keyed on the visitor's address as the trusted proxies (the web, an ingress) name it.

A limit like "30/minute" is counted per (scope, client) in fixed windows with one atomic upsert per
request, which also returns the previous window's count; it runs in autocommit, so a hot row (one
address behind a NAT, a load test from one host) is locked only while PostgreSQL runs that statement,
never across a round trip to the service (a BEGIN ... COMMIT around it queued every request of the
address behind the slowest). The previous window is weighed in by how much of it still overlaps the
last minute (a sliding-window estimate), so a burst across a window's edge is not let through twice.
A client whose own window is already over the limit is refused by this process until the window ends
without asking the database again: its count only grows until then, so the answer cannot change.

The count stays one round trip per request, in the database, rather than allowances a process takes in
blocks: a block would let one address through up to a block per replica beyond the limit, and the limit
is the guarantee. What it no longer costs is Python: the upsert is built once per limiter, for its
dialect, and executed with its values as parameters on a connection of its own (no ORM session, no
statement or cache key made anew per request); on PostgreSQL it is compiled once and sent by asyncpg
itself (shared.db.DriverStatement), past SQLAlchemy's per-execution work.
"""

from __future__ import annotations

import functools
import ipaddress
import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import structlog
from fastapi import HTTPException, Request
from limits import parse
from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table, bindparam, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.db import DRIVER_ERRORS, DriverStatement, autocommitting

log = structlog.get_logger(__name__)
TABLE = "rate_limit_counters"


def define_rate_limit_table(metadata: MetaData) -> Table:
    """Hits per (scope, client, window start in epoch seconds); rows older than two windows are purged."""
    return Table(
        TABLE,
        metadata,
        Column("scope", String(100), primary_key=True),
        Column("client", String(64), primary_key=True),
        Column("window_start", BigInteger, primary_key=True, autoincrement=False),
        Column("hits", Integer, nullable=False),
    )


class RateLimiter:
    """One limit (e.g. "30/minute") for the app's public routes, counted in `table` of the service's database."""

    def __init__(
        self,
        limit: str,
        session_factory: async_sessionmaker[AsyncSession],
        table: Table,
        clock: Callable[[], float] = time.time,
    ) -> None:
        item = parse(limit)
        self.amount = item.amount
        self.window = item.get_expiry()
        bind = session_factory.kw["bind"]
        assert isinstance(bind, AsyncEngine)
        # Autocommit: the row is locked for this one statement inside the database, not until a COMMIT the
        # service sends after its event loop comes back to it.
        self._engine = autocommitting(bind)
        self._count = _counting_statement(table, bind.dialect.name)
        # PostgreSQL: every public request runs it, so it goes to the driver as compiled once.
        postgres = bind.dialect.name == "postgresql"
        self._count_on_driver = DriverStatement(self._count, bind.dialect) if postgres else None
        self._purge = delete(table).where(table.c.window_start < bindparam("before"))
        self._clock = clock
        self._purged_window = -1
        self._refused_until: dict[tuple[str, str], float] = {}  # (scope, client) over the limit: window end

    async def check(self, scope: str, client: str) -> None:
        """Count one hit; over the limit, 429 with Retry-After. A database that cannot count lets the request
        through (it will meet the same database in a moment) rather than refusing everyone."""
        now = self._clock()
        start = int(now // self.window * self.window)
        scope, client = scope[:100], client[:64]
        refused_until = self._refused_until.get((scope, client))
        if refused_until is not None and now < refused_until:
            self._refuse(refused_until - now)
        try:
            async with self._engine.connect() as connection:
                values = {"scope": scope, "client": client, "start": start, "previous_start": start - self.window}
                if self._count_on_driver is not None:
                    hits, previous = await self._count_on_driver.fetchrow(connection, values)
                else:
                    hits, previous = (await connection.execute(self._count, values)).one()
                if self._purged_window != start:  # once per window and process: old windows go
                    await connection.execute(self._purge, {"before": start - self.window})
                    self._purged_window = start
                    self._refused_until = {k: t for k, t in self._refused_until.items() if t > now}
        except (SQLAlchemyError, *DRIVER_ERRORS) as exc:
            log.warning("ratelimit.unavailable", error=type(exc).__name__)
            return
        overlap = 1 - (now - start) / self.window
        if hits > self.amount:
            self._refused_until[(scope, client)] = start + self.window
        if hits + (previous or 0) * overlap > self.amount:
            self._refuse(start + self.window - now)

    @staticmethod
    def _refuse(seconds_left: float) -> None:
        retry_after = max(1, math.ceil(seconds_left))
        raise HTTPException(429, "too many requests; try again later", headers={"Retry-After": str(retry_after)})


def _counting_statement(table: Table, dialect: str) -> Any:
    """One hit more in (scope, client, start), returning the window's hits and the previous window's."""
    earlier = table.alias("earlier")
    previous_hits = (
        select(earlier.c.hits)
        .where(
            earlier.c.scope == bindparam("scope"),
            earlier.c.client == bindparam("client"),
            earlier.c.window_start == bindparam("previous_start"),
        )
        .scalar_subquery()
    )
    insert = (postgresql if dialect == "postgresql" else sqlite).insert(table)
    return (
        insert.values(scope=bindparam("scope"), client=bindparam("client"), window_start=bindparam("start"), hits=1)
        .on_conflict_do_update(
            index_elements=[table.c.scope, table.c.client, table.c.window_start], set_={"hits": table.c.hits + 1}
        )
        .returning(table.c.hits, previous_hits)
    )


@functools.lru_cache(maxsize=8)
def _networks(proxies: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """The trusted proxies as networks, parsed once per setting rather than on every request."""
    return tuple(ipaddress.ip_network(proxy, strict=False) for proxy in proxies)


def client_address(request: Request, trusted_proxies: Sequence[str]) -> str:
    """Who is asking: the socket's peer, unless that peer is a trusted proxy (the web, an ingress), in
    which case the nearest address in X-Forwarded-For that is not a trusted proxy. A header sent by
    anyone else is ignored, so it cannot be used to dodge a limit."""
    networks = _networks(tuple(trusted_proxies))

    def trusted(address: str) -> bool:
        try:
            return any(ipaddress.ip_address(address) in network for network in networks)
        except ValueError:
            return False

    peer = request.client.host if request.client else "unknown"
    if not trusted(peer):
        return peer
    hops = [hop.strip() for hop in request.headers.get("x-forwarded-for", "").split(",") if hop.strip()]
    for hop in reversed(hops):
        if not trusted(hop):
            return hop
    return peer


class RateLimit:
    """Route dependency: count the request against the app's limiter under `scope` (e.g. "intake:submit"),
    per client (behind the web or an ingress: per visitor, see client_address)."""

    def __init__(self, scope: str) -> None:
        self._scope = scope

    async def __call__(self, request: Request) -> None:
        limiter: RateLimiter = request.app.state.rate_limiter
        proxies = request.app.state.settings.platform.trusted_proxies
        await limiter.check(self._scope, client_address(request, proxies))
