"""The connection pools.

The primary's pool lives on `app.state.pool` for the app's lifetime; with
DATABASE_READ_URL a second pool (`app.state.read_pool`; otherwise the same object as
`app.state.pool`) reaches the replica. Which of them a request's handler reads from is
decided in service/web/transactions.py.

Every connection error (the server restarted, a backend was terminated) expires the
pool's idle connections, so that each of them reconnects on next use instead of
failing once in turn.

Every connection a pool opens is checked for the session settings the service relies
on (`required_session`): they are the database's own (migration 0010), because
PgBouncer in transaction mode passes no startup parameter but a handful on and keeps
no `SET` from one transaction to the next. A database without them makes start-up
fail with the statements that fix it (`DatabaseSettingsError`), rather than run with
no statement timeout.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any, NamedTuple, TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy
from litestar import Litestar
from litestar.datastructures import State
from litestar.di import NamedDependency

from service.kit.errors import DatabaseSettingsError, ServiceUnavailable
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


class SessionSetting(NamedTuple):
    """A setting every session must have, and how to give it to the database."""

    name: str  # as pg_settings spells it
    accepted: tuple[str, ...]  # pg_settings.setting values (in pg_settings.unit)
    wanted: str  # what to set, as ALTER DATABASE ... SET takes it
    why: str


def required_session(settings: Settings) -> tuple[SessionSetting, ...]:
    """What the service relies on in every session, and why.

    TimeZone is the one startup parameter left (PgBouncer passes it on, and restores it
    on whichever server connection a transaction gets); the others are the database's
    (migration 0010). The similarity threshold of name search is no session setting
    any more: the functions of migration 0009 carry it.
    """
    timeout = settings.db_statement_timeout_ms
    return (
        SessionSetting(
            "TimeZone",
            ("UTC", "Etc/UTC"),
            "'UTC'",
            "SQL writes timestamps into JSON in the session's time zone, and the API "
            "serves them in UTC (the service sends it when it connects: something in "
            "between dropped it)",
        ),
        SessionSetting(
            "statement_timeout",
            (str(timeout),),
            f"'{timeout}ms'",
            f"the server cancels a runaway query after DB_STATEMENT_TIMEOUT_MS ({timeout}); "
            "or set DB_STATEMENT_TIMEOUT_MS to the database's value",
        ),
        SessionSetting(
            "idle_in_transaction_session_timeout",
            ("60000",),
            "'60s'",
            "a transaction whose client went silent must not hold its locks for ever",
        ),
        SessionSetting(
            "jit",
            ("off",),
            "off",
            "JIT compilation costs a second on big-looking plans of short queries",
        ),
    )


SESSION_SETTINGS = """
SELECT name, setting || coalesce(unit, '') AS shown, setting, current_database() AS database
FROM pg_settings WHERE name = ANY($1::text[])
"""


async def check_session(conn: Connection, settings: Settings) -> None:
    """Raise DatabaseSettingsError unless every setting of `required_session` is in
    force on `conn` (one query)."""
    required = required_session(settings)
    rows = await conn.fetch(SESSION_SETTINGS, [r.name for r in required])
    found = {row["name"]: row for row in rows}
    wrong = [
        r for r in required if r.name not in found or found[r.name]["setting"] not in r.accepted
    ]
    if not wrong:
        return
    database: str = rows[0]["database"]
    target = '"' + database.replace('"', '""') + '"'
    lines = [f"database {database} lacks session settings the service relies on:"]
    for setting in wrong:
        shown = found[setting.name]["shown"] if setting.name in found else "unknown"
        lines.append(f"- {setting.name} is {shown}, needs {setting.wanted}: {setting.why}")
    lines.append(
        "Set them on the database (as its owner), then restart the service (behind "
        "PgBouncer, also RECONNECT on its admin console: server connections keep the "
        "settings they started with):"
    )
    lines += [f"  ALTER DATABASE {target} SET {s.name} = {s.wanted};" for s in wrong]
    lines.append(
        "`python -m service migrate` sets them when it builds the schema (migration 0010); "
        "a copy made with CREATE DATABASE ... TEMPLATE, or a dump restored without "
        "pg_restore --create, does not carry them."
    )
    raise DatabaseSettingsError("\n".join(lines))


async def _init_connection(settings: Settings, conn: asyncpg.Connection) -> None:
    for name, encoder, decoder in (
        ("timestamptz", _encode_timestamptz, _decode_timestamptz),
        ("date", _encode_date, _decode_date),
    ):
        await conn.set_type_codec(
            name, schema="pg_catalog", encoder=encoder, decoder=decoder, format="tuple"
        )
    await check_session(conn, settings)


async def _keep_session(_: asyncpg.Connection) -> None:
    """The pool's reset on release: nothing to send. asyncpg's default sends `SELECT
    pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL` on every release, a
    second round trip for a one-query request, to undo session state that no code here
    leaves behind: no `SET` at all (settings are the database's, and TimeZone a startup
    parameter), only transaction-scoped advisory locks and cursors, LISTEN only on the
    listener's own connection (service/kit/notifications.py). asyncpg still rolls back
    a transaction left open (a cancelled request) before this is called."""


async def create_pool(settings: Settings, dsn: str | None = None) -> asyncpg.Pool:
    """Open a pool whose queries time out and whose sessions speak UTC; each
    connection it opens is checked (`check_session`).

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
        # The client's own bound, a second after the server's statement_timeout (which
        # check_session holds to DB_STATEMENT_TIMEOUT_MS): behind PgBouncer it also
        # bounds the wait for a server connection.
        command_timeout=settings.db_statement_timeout_ms / 1000 + 1,
        # 0 behind PgBouncer < 1.21 in transaction mode (docs/scaling.md).
        statement_cache_size=settings.db_statement_cache_size,
        init=partial(_init_connection, settings),
        reset=_keep_session,
        # Only startup parameters that PgBouncer passes on (it refuses a connection with
        # any other): the settings that the service needs from the database are the
        # database's own (migration 0010; docs/scaling.md, "Behind PgBouncer").
        server_settings={"timezone": "UTC", "application_name": "verification-record"},
    )
    return await pool


async def verify_database(settings: Settings, pool: asyncpg.Pool | None = None) -> None:
    """Open one connection the way the service's pools do, which checks its session.

    Raises DatabaseSettingsError when a setting is wrong, and asyncpg's or the
    system's connection errors (CONNECTION_ERRORS, TimeoutError) when the database
    cannot be reached, which callers may tolerate: every later connection is checked
    too."""
    own = pool is None
    pool = pool if pool is not None else await create_pool(settings)
    try:
        # A new pool is empty: this connects, which runs the check (_init_connection).
        # Bounded: asyncpg's own connect timeout is a minute.
        async with asyncio.timeout(settings.db_acquire_timeout_seconds + 5):
            async with pool.acquire():
                pass
    finally:
        if own:
            await _close(pool)


# What a database that is down looks like at start-up (CONNECTION_ERRORS includes
# DatabaseSettingsError, an OSError, which _verify_at_start lets through first).
_UNREACHABLE: tuple[type[BaseException], ...] = (*CONNECTION_ERRORS, TimeoutError)


async def _verify_at_start(settings: Settings, pool: asyncpg.Pool, what: str) -> None:
    try:
        await verify_database(settings, pool)
    except DatabaseSettingsError:
        raise
    except _UNREACHABLE as exc:
        log.warning(
            "%s unreachable at start-up (%s); serving anyway, and checking each "
            "connection's settings once it connects",
            what,
            type(exc).__name__,
        )


def pool_lifespan(settings: Settings) -> Any:
    """The lifespan context that opens `app.state.pool` (and `app.state.read_pool`),
    fails when a reachable database lacks a setting (`check_session`), and closes the
    pools within a bound."""

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        pool = await create_pool(settings)
        app.state.pool = app.state.read_pool = pool
        try:
            await _verify_at_start(settings, pool, "the database")
            if settings.database_read_url:
                app.state.read_pool = await create_pool(settings, settings.database_read_url)
                await _verify_at_start(settings, app.state.read_pool, "the replica")
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
        # asyncio.timeout rather than asyncpg's `timeout=`, whose wait_for makes a task
        # of every acquire (4 % of a read's CPU, bench/ with py-spy). asyncpg puts the
        # connection back if the acquire is cancelled, and nothing awaits after it.
        async with asyncio.timeout(settings.db_acquire_timeout_seconds):
            connection = await pool.acquire()
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
