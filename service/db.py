"""The connection pool and the per-request connection.

The pool lives on `app.state.pool` for the app's lifetime. Reads get a plain pooled
connection (one statement is atomic on its own, so BEGIN/COMMIT would be two wasted
round trips); writes get a connection inside one transaction that commits when the
handler returns and rolls back when it raises.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy
from litestar import Litestar
from litestar.datastructures import State
from litestar.di import NamedDependency

from service import idempotency
from service.errors import ServiceUnavailable
from service.settings import Settings

# What handlers and repositories receive: a pooled connection (or, in tools, a plain one).
Connection: TypeAlias = asyncpg.Connection | PoolConnectionProxy

# What handlers declare: `db` reads outside a transaction, `tx` writes inside one.
# (Litestar validates dependency types, and a pooled connection passes as a Connection.)
ReadDb = NamedDependency[asyncpg.Connection]
WriteTx = NamedDependency[asyncpg.Connection]


async def create_pool(settings: Settings, dsn: str | None = None) -> asyncpg.Pool:
    """Open a pool whose queries time out and whose sessions speak UTC.

    The pool starts empty (min_size 0) and connects on first use, so the service can
    start, and answer /health/ready with 503, while the database is still down.
    """
    pool = asyncpg.create_pool(
        dsn or settings.database_url,
        min_size=0,
        max_size=settings.db_pool_max_size,
        # Recycling connections mid-load costs a reconnect; only idle ones need it.
        max_queries=1_000_000,
        max_inactive_connection_lifetime=300,
        command_timeout=settings.db_statement_timeout_ms / 1000 + 1,
        server_settings={
            "timezone": "UTC",
            "statement_timeout": str(settings.db_statement_timeout_ms),
            "idle_in_transaction_session_timeout": "60000",
            "application_name": "verification-record",
            # Name search is typo-tolerant: "Esprr" finds "Mark Esper" (default 0.6).
            "pg_trgm.word_similarity_threshold": "0.3",
            # JIT compiles for a second or more on queries the planner thinks are big;
            # our queries are short OLTP reads for which that is pure latency.
            "jit": "off",
        },
    )
    return await pool


def pool_lifespan(settings: Settings) -> Any:
    """The lifespan context that opens `app.state.pool` and closes it within a bound."""

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        pool = await create_pool(settings)
        app.state.pool = pool
        try:
            yield
        finally:
            try:
                await asyncio.wait_for(pool.close(), timeout=10)
            except TimeoutError:
                pool.terminate()

    return lifespan


@asynccontextmanager
async def acquire(state: State, settings: Settings) -> AsyncIterator[Connection]:
    pool: asyncpg.Pool = state.pool
    try:
        connection = await pool.acquire(timeout=settings.db_acquire_timeout_seconds)
    except TimeoutError:
        raise ServiceUnavailable(
            "no database connection became free in time; retry shortly",
            headers={"Retry-After": "1"},
        ) from None
    try:
        yield connection
    finally:
        await pool.release(connection)


async def provide_read_connection(state: State) -> AsyncIterator[Connection]:
    """A pooled connection for handlers that only read."""
    async with acquire(state, state.settings) as connection:
        yield connection


async def provide_transaction(state: State) -> AsyncIterator[Connection]:
    """A pooled connection inside one transaction for the whole request.

    A POST's Idempotency-Key is claimed first, in this transaction: a replay or a
    conflict ends the request here, before the handler runs, and the first response is
    recorded in this same transaction (see service/idempotency.py).
    """
    async with acquire(state, state.settings) as connection, connection.transaction():
        await idempotency.claim(connection)
        yield connection
