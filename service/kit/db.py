"""The connection pools and the per-request connection.

The pool lives on `app.state.pool` for the app's lifetime. Reads get a plain pooled
connection (one statement is atomic on its own, so BEGIN/COMMIT would be two wasted
round trips); writes get a connection inside one transaction that commits when the
handler returns and rolls back when it raises.

With DATABASE_READ_URL, a second pool (`app.state.read_pool`; otherwise the same object
as `app.state.pool`) serves the reads that tolerate replica lag: GET and HEAD requests
of callers who see published content only (anonymous callers and `read` keys), whose
content changes only when the newsroom publishes. The newsroom's keys read from the
primary, so that an editor always sees their own writes at once; every write, the
authentication of keys, the badge cache and the export use the primary too, and so
does any handler whose `opt` sets READ_FROM_PRIMARY (the change feed, whose horizon is
only meaningful there). When the replica cannot be reached, those reads fall back to
the primary rather than fail.

Every connection error (the server restarted, a backend was terminated) expires the
pool's idle connections, so that each of them reconnects on next use instead of
failing once in turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy
from litestar import Litestar, Request
from litestar.datastructures import State
from litestar.di import NamedDependency

from service.domain.visibility import Audience
from service.kit.errors import ServiceUnavailable
from service.settings import Settings
from service.web import idempotency

log = logging.getLogger("service.db")

# What handlers and repositories receive: a pooled connection (or, in tools, a plain one).
Connection: TypeAlias = asyncpg.Connection | PoolConnectionProxy

# What handlers declare: `db` reads outside a transaction, `tx` writes inside one.
# (Litestar validates dependency types, and a pooled connection passes as a Connection.)
ReadDb = NamedDependency[asyncpg.Connection]
WriteTx = NamedDependency[asyncpg.Connection]

# A route handler (or controller) `opt` key: its `db` reads come from the primary even
# for callers who could read from the replica.
READ_FROM_PRIMARY = "read_from_primary"
_LAGGING_READS = frozenset({"GET", "HEAD"})

# What a dead or unreachable server looks like to asyncpg: AdminShutdown is what
# pg_terminate_backend and a fast shutdown send, CannotConnectNow a server starting up
# or shutting down, InternalClientError a connection used in the instant between the
# server's goodbye and the socket's close (service/errors.py maps them all to 503).
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    asyncpg.PostgresConnectionError,
    asyncpg.AdminShutdownError,
    asyncpg.CannotConnectNowError,
)
# The replica's errors that send a read to the primary instead.
_REPLICA_UNAVAILABLE: tuple[type[BaseException], ...] = (*CONNECTION_ERRORS, TimeoutError)


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
    connection (service/notifications.py). asyncpg still rolls back a transaction left
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


def reads_may_lag(request: Request[Any, Any, Any], audience: Audience) -> bool:
    """Whether this request's reads may come from the replica (see the module): the
    public audience's GETs, unless the handler asks for the primary."""
    return (
        request.method in _LAGGING_READS
        and audience is Audience.PUBLIC
        and not request.route_handler.opt.get(READ_FROM_PRIMARY, False)
    )


# Log a replica that cannot be reached at most once per this many seconds.
_REPLICA_WARNING_INTERVAL = 30.0
_replica_warned_at = -_REPLICA_WARNING_INTERVAL


async def provide_read_connection(
    state: State, request: Request[Any, Any, Any], audience: NamedDependency[Audience]
) -> AsyncIterator[Connection]:
    """A pooled connection for handlers that only read: the replica's when the request
    tolerates lag (and the replica answers), else the primary's.

    It takes the `audience` dependency (who is asking decides where to read), and so
    Litestar resolves the audience first: dependencies it must resolve side by side
    it resolves in an anyio task group, which cost more than the two of them together
    (a tenth of a one-row GET's CPU time, profiled with py-spy: bench/)."""
    settings: Settings = state.settings
    read_pool: asyncpg.Pool = state.read_pool
    if read_pool is not state.pool and reads_may_lag(request, audience):
        try:
            connection = await read_pool.acquire(timeout=settings.db_acquire_timeout_seconds)
        except _REPLICA_UNAVAILABLE as exc:
            _warn_replica_unreachable(exc)
            if not isinstance(exc, TimeoutError):
                await read_pool.expire_connections()
        else:
            try:
                yield connection
            except CONNECTION_ERRORS:
                await read_pool.expire_connections()
                raise
            finally:
                await read_pool.release(connection)
            return
    async with acquire(state, settings) as primary:
        yield primary


def _warn_replica_unreachable(exc: BaseException) -> None:
    global _replica_warned_at
    now = time.monotonic()
    if now - _replica_warned_at >= _REPLICA_WARNING_INTERVAL:
        _replica_warned_at = now
        log.warning("replica unreachable (%s); reading from the primary", type(exc).__name__)


async def provide_transaction(
    state: State, actor: NamedDependency[str | None]
) -> AsyncIterator[Connection]:
    """A pooled connection inside one transaction for the whole request.

    A POST's Idempotency-Key is claimed first, in this transaction: a replay or a
    conflict ends the request here, before the handler runs, and the first response is
    recorded in this same transaction (see service/idempotency.py).

    `actor` (the name the handler's events record) is not used here: asking for it makes
    Litestar resolve it before the transaction rather than beside it, in an anyio task
    group (see `provide_read_connection`).
    """
    async with acquire(state, state.settings) as connection:
        transaction = connection.transaction()
        await transaction.start()
        try:
            await idempotency.claim(connection)
            yield connection
        except BaseException:
            # A connection that died under the request (the server restarted, the
            # backend was terminated) has nothing left to roll back: the failed rollback
            # must not replace the request's own error (a 503) with another (a 500).
            with contextlib.suppress(*CONNECTION_ERRORS):
                await transaction.rollback()
            raise
        await transaction.commit()
