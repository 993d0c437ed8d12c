"""The connection pools.

The primary's pool lives on `app.state.pool` for the app's lifetime; with
DATABASE_READ_URL a second pool (`app.state.read_pool`; otherwise the same object as
`app.state.pool`) reaches the replica. Which of them a request's handler reads from is
decided in service/web/transactions.py.

Every connection error (the server restarted, a backend was terminated) expires the
pool's idle connections, so that each of them reconnects on next use instead of
failing once in turn.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy
from litestar import Litestar
from litestar.datastructures import State
from litestar.di import NamedDependency

from service.kit.errors import ServiceUnavailable
from service.settings import Settings

log = logging.getLogger("service.db")

# What handlers and repositories receive: a pooled connection (or, in tools, a plain one).
Connection: TypeAlias = asyncpg.Connection | PoolConnectionProxy

# What handlers declare: `db` reads outside a transaction, `tx` writes inside one.
# (Litestar validates dependency types, and a pooled connection passes as a Connection.)
ReadDb = NamedDependency[asyncpg.Connection]
WriteTx = NamedDependency[asyncpg.Connection]

# What a dead or unreachable server looks like to asyncpg: AdminShutdown is what
# pg_terminate_backend and a fast shutdown send, CannotConnectNow a server starting up
# or shutting down, InternalClientError a connection used in the instant between the
# server's goodbye and the socket's close (service/kit/errors.py maps them all to 503).
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    asyncpg.PostgresConnectionError,
    asyncpg.AdminShutdownError,
    asyncpg.CannotConnectNowError,
)


# asyncpg writes the first and the last instant and day it can represent
# (0001-01-01T00:00:00Z, 9999-12-31T23:59:59.999999Z; 0001-01-01, 9999-12-31) as
# -infinity and infinity, which the record would then serve as such, and fail to read
# back. These codecs write each instant and day as itself, in PostgreSQL's binary form:
# microseconds or days since 2000-01-01. Like asyncpg's, they read infinity back as the
# last or the first value Python has, and refuse what lies beyond (a 422, DataError).
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_EPOCH_DAY = date(2000, 1, 1).toordinal()
_MICROSECOND = timedelta(microseconds=1)
_TIME_INFINITY, _DATE_INFINITY = 2**63 - 1, 2**31 - 1


def _encode_timestamptz(value: datetime) -> tuple[int]:
    return ((value.astimezone(UTC) - _EPOCH) // _MICROSECOND,)


def _decode_timestamptz(value: tuple[int]) -> datetime:
    if value[0] == _TIME_INFINITY:
        return datetime.max.replace(tzinfo=UTC)
    if value[0] == -_TIME_INFINITY - 1:
        return datetime.min.replace(tzinfo=UTC)
    return _EPOCH + value[0] * _MICROSECOND


def _encode_date(value: date) -> tuple[int]:
    return (value.toordinal() - _EPOCH_DAY,)


def _decode_date(value: tuple[int]) -> date:
    if value[0] == _DATE_INFINITY:
        return date.max
    if value[0] == -_DATE_INFINITY - 1:
        return date.min
    return date.fromordinal(value[0] + _EPOCH_DAY)


async def _init_connection(conn: asyncpg.Connection) -> None:
    for name, encoder, decoder in (
        ("timestamptz", _encode_timestamptz, _decode_timestamptz),
        ("date", _encode_date, _decode_date),
    ):
        await conn.set_type_codec(
            name, schema="pg_catalog", encoder=encoder, decoder=decoder, format="tuple"
        )


async def _keep_session(_: asyncpg.Connection) -> None:
    """The pool's reset on release: nothing to send. asyncpg's default sends `SELECT
    pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL` on every release, a
    second round trip for a one-query request, to undo session state that no code here
    leaves behind: no session-level SET (settings are startup parameters), only
    transaction-scoped advisory locks and cursors, LISTEN only on the listener's own
    connection (service/kit/notifications.py). asyncpg still rolls back a transaction left
    open (a cancelled request) before this is called."""


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
        # 0 behind PgBouncer < 1.21 in transaction mode (docs/scaling.md).
        statement_cache_size=settings.db_statement_cache_size,
        init=_init_connection,
        reset=_keep_session,
        # Startup parameters: behind PgBouncer they must be set on the database
        # instead (docs/scaling.md, "Behind PgBouncer").
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
    """The lifespan context that opens `app.state.pool` (and `app.state.read_pool`) and
    closes them within a bound."""

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        pool = await create_pool(settings)
        app.state.pool = app.state.read_pool = pool
        try:
            if settings.database_read_url:
                app.state.read_pool = await create_pool(settings, settings.database_read_url)
            yield
        finally:
            pools = {pool, app.state.read_pool}
            results = await asyncio.gather(*(_close(p) for p in pools), return_exceptions=True)
            for result in results:
                if isinstance(result, BaseException):
                    log.warning("closing a database pool failed: %r", result)

    return lifespan


async def _close(pool: asyncpg.Pool) -> None:
    try:
        await asyncio.wait_for(pool.close(), timeout=10)
    except TimeoutError:
        pool.terminate()


@asynccontextmanager
async def acquire(
    state: State, settings: Settings, pool: asyncpg.Pool | None = None
) -> AsyncIterator[Connection]:
    """A connection from `pool` (the primary's by default); 503 when none is free in
    time. A connection error expires the pool's other connections too."""
    pool = pool if pool is not None else state.pool
    try:
        connection = await pool.acquire(timeout=settings.db_acquire_timeout_seconds)
    except TimeoutError:
        raise ServiceUnavailable(
            "no database connection became free in time; retry shortly",
            headers={"Retry-After": "1"},
        ) from None
    except CONNECTION_ERRORS:
        await pool.expire_connections()
        raise
    try:
        yield connection
    except CONNECTION_ERRORS:
        await pool.expire_connections()
        raise
    finally:
        await pool.release(connection)
