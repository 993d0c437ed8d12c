"""The connection a request's handler gets: `db` for reads, `tx` for writes.

Reads get a plain pooled connection (one statement is atomic on its own, so BEGIN/COMMIT
would be two wasted round trips); writes get a connection inside one transaction that
commits when the handler returns and rolls back when it raises. A POST's
Idempotency-Key is claimed inside that transaction (service/web/idempotency.py).

With DATABASE_READ_URL, the replica's pool (`app.state.read_pool`, service/kit/db.py)
serves the reads that tolerate replica lag: GET and HEAD requests of callers who see
published content only (anonymous callers and `read` keys), whose content changes only
when the newsroom publishes. The newsroom's keys read from the primary, so that an
editor always sees their own writes at once; every write, the authentication of keys,
the badge cache and the export use the primary too, and so does any handler whose
`opt` sets READ_FROM_PRIMARY (the change feed, whose horizon is only meaningful there).
When the replica cannot be reached, those reads fall back to the primary rather than
fail, and `vr_db_replica_fallbacks_total` counts each one (service/web/metrics.py): the
primary then carries the replica's load, which the logs say only once in 30 s.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency

from service.kit.db import CONNECTION_ERRORS, Connection, acquire
from service.settings import Settings
from service.web import idempotency
from service.web.auth import Audience
from service.web.metrics import Metrics

log = logging.getLogger("service.db")

# A route handler (or controller) `opt` key: its `db` reads come from the primary even
# for callers who could read from the replica.
READ_FROM_PRIMARY = "read_from_primary"
_LAGGING_READS = frozenset({"GET", "HEAD"})

# The replica's errors that send a read to the primary instead.
_REPLICA_UNAVAILABLE: tuple[type[BaseException], ...] = (*CONNECTION_ERRORS, TimeoutError)


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
    async with read_connection(state, request, audience) as connection:
        yield connection


@contextlib.asynccontextmanager
async def read_connection(
    state: State, request: Request[Any, Any, Any], audience: Audience
) -> AsyncIterator[Connection]:
    """What `provide_read_connection` lends, for a handler that reads only sometimes
    (service/web/read_cache.py: a cache hit needs no connection)."""
    settings: Settings = state.settings
    read_pool: asyncpg.Pool = state.read_pool
    if read_pool is not state.pool and reads_may_lag(request, audience):
        try:
            connection = await read_pool.acquire(timeout=settings.db_acquire_timeout_seconds)
        except _REPLICA_UNAVAILABLE as exc:
            _warn_replica_unreachable(exc)
            metrics: Metrics = state.metrics
            if isinstance(exc, TimeoutError):
                metrics.replica_fallback("timeout")
            else:
                metrics.replica_fallback("connection_error")
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
    recorded in this same transaction (see service/web/idempotency.py).

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
