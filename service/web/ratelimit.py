"""Rate limits per API key (per client address for anonymous callers), shared by every
worker and replica through PostgreSQL without a database write per request.

How it counts:

- Fixed one-minute windows, one per *bucket*: `key:<api key id>` or `addr:<client
  address>` (an IPv6 client by its /64, which one subscriber can rotate through at
  will). Each bucket's windows start at its own second of the minute (derived from a
  hash of the bucket, so every process agrees), so clients that were refused do not all
  come back at the same instant.
- Each process counts hits in memory and decides on *the bucket's total at its last
  sync + the hits it has not synced yet*. A background flusher adds the unsynced hits to
  `rate_limit_windows` about once a second, in one statement for all buckets, and reads
  each total back. A bucket that gets within 10 % of its limit wakes the flusher at
  once, so processes learn about each other's hits quickly where it matters.
- Only admitted requests count: a caller who keeps knocking after a 429 costs a dict
  lookup, never a write.

What that guarantees: with one process the limit is exact. With several, a bucket can
go over its limit by what the other processes admit before their next sync (well under
a second of traffic near the limit). When the database is unreachable each process
keeps counting on its own, so the limit holds per process, and unsynced hits are sent
when the database answers again.

Health probes, metrics and the OpenAPI documents are exempt. Every other response
carries `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` (seconds until
the window resets); a refused request is 429 with the same headers and `Retry-After`.

The client address is `scope["client"]`: the TCP peer, or behind the proxies listed in
TRUSTED_PROXIES the address their `X-Forwarded-For` names (service/web/forwarded.py).
Without that setting behind a proxy, every anonymous caller shares the proxy's budget.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import logging
import math
import random
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from datetime import timedelta
from functools import lru_cache
from typing import Any, NamedTuple

import asyncpg
from litestar import Litestar
from litestar.datastructures import ResponseHeader
from litestar.enums import ScopeType
from litestar.plugins import ReceiveRoutePlugin
from litestar.routes import BaseRoute, HTTPRoute
from litestar.types import ASGIApp, Receive, Scope, Send

from service.kit.errors import TooManyRequests
from service.web.auth import Caller
from service.web.headers import EXTRA_HEADERS
from service.web.http import problem_responses

log = logging.getLogger("service.ratelimit")

WINDOW_SECONDS = 60
# How often a process syncs its counts, and the shortest gap between two syncs when
# buckets near their limits keep waking the flusher (bounds the writes per process).
FLUSH_INTERVAL_SECONDS = 1.0
MIN_FLUSH_GAP_SECONDS = 0.05
# While the database fails, syncs are retried after twice as long each time, up to this.
MAX_BACKOFF_SECONDS = 10.0
# A bucket with this share of its limit (or less) left wakes the flusher.
NEAR_LIMIT_SHARE = 0.1
# Old windows are deleted by the flushers, each about once a minute, in batches.
KEEP_WINDOWS = timedelta(minutes=5)
PURGE_INTERVAL_SECONDS = 60.0
PURGE_BATCH = 10_000
# Windows that ended are dropped from memory this often.
PRUNE_INTERVAL_SECONDS = 10.0

# Paths that are never limited: probes must answer whatever a caller did, the
# monitoring system scrapes every instance from one address, and the documents are
# static.
EXEMPT_PREFIXES = ("/health/", "/metrics", "/schema")
# A `scope["state"]` key: the Decision of a request already counted before the pipeline
# (service/web/memory_answers.py), which the middleware then uses instead of counting.
COUNTED = "rate_limit_counted"

# One statement per sync. Rows are locked in (bucket, window) order, so two processes
# syncing overlapping buckets cannot deadlock.
_SYNC = """
INSERT INTO rate_limit_windows AS w (bucket, window_start, hits)
SELECT bucket, to_timestamp(start), hits
FROM unnest($1::text[], $2::bigint[], $3::integer[]) AS batch (bucket, start, hits)
ORDER BY bucket, start
ON CONFLICT (bucket, window_start) DO UPDATE SET hits = w.hits + excluded.hits
RETURNING bucket, extract(epoch FROM window_start)::bigint AS start, hits
"""
# SKIP LOCKED: purging never waits for, nor holds up, a sync of a live window.
_PURGE = """
DELETE FROM rate_limit_windows
WHERE (bucket, window_start) IN (
    SELECT bucket, window_start FROM rate_limit_windows
    WHERE window_start < now() - $1::interval
    LIMIT $2
    FOR UPDATE SKIP LOCKED
)
"""


class _Window:
    """One bucket's current window in this process."""

    __slots__ = ("bucket", "inflight", "resets_at", "start", "synced", "unsynced")

    def __init__(self, bucket: str, start: int) -> None:
        self.bucket = bucket
        self.start = start  # Unix seconds
        self.resets_at = start + WINDOW_SECONDS
        self.synced = 0  # the bucket's total over all processes at the last sync
        self.inflight = 0  # hits of a sync that has not answered yet
        self.unsynced = 0  # hits admitted here since

    @property
    def used(self) -> int:
        return self.synced + self.inflight + self.unsynced


class Decision(NamedTuple):
    """The answer for one request: admitted or not, and the values of its headers.
    (A named tuple: it is made on every request, and cheaper than a dataclass.)"""

    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_seconds),
        }

    def encoded_headers(self) -> list[tuple[bytes, bytes]]:
        return [
            (b"ratelimit-limit", b"%d" % self.limit),
            (b"ratelimit-remaining", b"%d" % self.remaining),
            (b"ratelimit-reset", b"%d" % self.reset_seconds),
        ]


def window_start(bucket: str, now: float) -> int:
    """The start (Unix seconds) of the bucket's window that contains `now`."""
    offset = int.from_bytes(hashlib.blake2b(bucket.encode(), digest_size=2).digest(), "big")
    second = math.floor(now)
    return second - (second - offset) % WINDOW_SECONDS


class RateLimiter:
    """The per-process counters and their flusher.

    `hit` is the hot path (no I/O). `start`/`stop` run the flusher for an app's lifetime
    (see `lifespan`); `flush` and `purge` are one sync and one clean-up, also callable
    on their own.
    """

    def __init__(
        self,
        *,
        key_limit: int,
        anonymous_limit: int,
        flush_interval: float = FLUSH_INTERVAL_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.key_limit = key_limit
        self.anonymous_limit = anonymous_limit
        self.flush_interval = flush_interval
        # Wall-clock time, so that every process and replica agrees on the windows.
        self.clock = clock
        self.pool: asyncpg.Pool | None = None
        self.acquire_timeout = 2.0
        self.sync_failures = 0  # consecutive failed syncs; 0 while the database answers
        self._windows: dict[str, _Window] = {}
        self._dirty: set[_Window] = set()
        self._wake: asyncio.Event | None = None
        self._lock: asyncio.Lock | None = None
        self._task: asyncio.Task[None] | None = None
        self._pruned_at = 0.0

    # ---- the hot path ----------------------------------------------------------------

    def hit(self, bucket: str, limit: int) -> Decision:
        """Count one request in `bucket` if it is within `limit` for the current window."""
        now = self.clock()
        window = self._windows.get(bucket)
        # (`now < start`: the clock was set back; start over rather than wait for it.)
        if window is None or not window.start <= now < window.resets_at:
            window = self._windows[bucket] = _Window(bucket, window_start(bucket, now))
        reset_seconds = max(1, math.ceil(window.resets_at - now))
        used = window.used
        if used >= limit:
            return Decision(False, limit, 0, reset_seconds)
        window.unsynced += 1
        self._dirty.add(window)
        remaining = limit - used - 1
        if remaining <= limit * NEAR_LIMIT_SHARE and self._wake is not None:
            self._wake.set()
        return Decision(True, limit, remaining, reset_seconds)

    # ---- syncing -----------------------------------------------------------------------

    async def flush(self) -> int:
        """Add this process's unsynced hits to the shared totals and read them back;
        returns how many buckets were synced. Raises when the database fails, after
        putting the hits back to be sent next time."""
        if self.pool is None:
            return 0
        async with self._flush_lock():
            now = self.clock()
            batch = [w for w in self._dirty if w.unsynced and w.resets_at > now]
            self._dirty.clear()  # windows that ended are of no use to anyone
            if not batch:
                return 0
            for window in batch:
                window.inflight, window.unsynced = window.unsynced, 0
            try:
                async with self.pool.acquire(timeout=self.acquire_timeout) as conn:
                    rows = await conn.fetch(
                        _SYNC,
                        [w.bucket for w in batch],
                        [w.start for w in batch],
                        [w.inflight for w in batch],
                    )
            except BaseException:
                # If the statement did commit and only its answer was lost, these hits
                # count twice: erring towards the limit, never past it.
                for window in batch:
                    window.unsynced += window.inflight
                    window.inflight = 0
                    self._dirty.add(window)
                raise
            totals = {(row["bucket"], row["start"]): row["hits"] for row in rows}
            for window in batch:
                known = totals.get((window.bucket, window.start))
                window.synced = known if known is not None else window.synced + window.inflight
                window.inflight = 0
            return len(batch)

    async def purge(self) -> int:
        """Delete windows that ended more than a few minutes ago; returns how many."""
        if self.pool is None:
            return 0
        deleted = 0
        async with self.pool.acquire(timeout=self.acquire_timeout) as conn:
            for _ in range(10):  # bounded: a backlog is finished by the next purges
                status = await conn.execute(_PURGE, KEEP_WINDOWS, PURGE_BATCH)
                count = int(status.rsplit(" ", 1)[-1])
                deleted += count
                if count < PURGE_BATCH:
                    break
        return deleted

    def prune(self) -> None:
        """Forget windows that ended (memory stays proportional to active callers)."""
        now = self.clock()
        self._windows = {b: w for b, w in self._windows.items() if w.resets_at > now}
        self._pruned_at = time.monotonic()

    def _flush_lock(self) -> asyncio.Lock:
        if self._lock is None:
            self._lock = asyncio.Lock()
        return self._lock

    # ---- the flusher -----------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self, pool: asyncpg.Pool, acquire_timeout: float) -> None:
        """Run the flusher on `pool` in the current event loop."""
        self.pool = pool
        self.acquire_timeout = acquire_timeout
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task = asyncio.create_task(self._run(), name="rate-limit-flusher")

    async def stop(self, final_flush_timeout: float = 2.0) -> None:
        """Stop the flusher, then send what is left (best effort, bounded)."""
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        try:
            async with asyncio.timeout(final_flush_timeout):
                await self.flush()
        except Exception as exc:
            log.warning("rate-limit counts not synced at shutdown (%s)", type(exc).__name__)
        self._wake = None

    async def _run(self) -> None:
        next_purge = time.monotonic() + random.uniform(0, PURGE_INTERVAL_SECONDS)
        while True:
            assert self._wake is not None
            with suppress(TimeoutError):
                async with asyncio.timeout(self.flush_interval):
                    await self._wake.wait()
            self._wake.clear()
            try:
                await self.flush()
                if time.monotonic() >= next_purge:
                    next_purge = time.monotonic() + PURGE_INTERVAL_SECONDS
                    await self.purge()
            except Exception as exc:
                # Never fatal: the limits hold per process until the database is back.
                if self.sync_failures == 0:
                    log.warning(
                        "rate-limit sync failed (%s); counting per process until the "
                        "database answers",
                        type(exc).__name__,
                    )
                self.sync_failures += 1
                # Waking early does not help a database that is down.
                backoff = self.flush_interval * 2 ** min(self.sync_failures, 10)
                await asyncio.sleep(min(backoff, MAX_BACKOFF_SECONDS))
            else:
                if self.sync_failures:
                    log.warning("rate-limit sync recovered after %d failures", self.sync_failures)
                self.sync_failures = 0
            if time.monotonic() - self._pruned_at >= PRUNE_INTERVAL_SECONDS:
                self.prune()
            await asyncio.sleep(MIN_FLUSH_GAP_SECONDS)


def lifespan(limiter: RateLimiter) -> Any:
    """The lifespan context running `limiter`'s flusher on `app.state.pool`; list it
    after the pool's, so that it stops (and syncs a last time) before the pool closes."""

    @asynccontextmanager
    async def run(app: Litestar) -> AsyncIterator[None]:
        limiter.start(app.state.pool, app.state.settings.db_acquire_timeout_seconds)
        try:
            yield
        finally:
            await limiter.stop()

    return run


# ---- the middleware ------------------------------------------------------------------


@lru_cache(maxsize=65_536)
def address_bucket(host: str) -> str:
    """`addr:<ip>`; an IPv6 address by its /64 (one subscriber's usual allocation)."""
    if ":" not in host:
        return f"addr:{host}"
    try:
        address = ipaddress.IPv6Address(host)
    except ValueError:
        return f"addr:{host}"
    if address.ipv4_mapped is not None:
        return f"addr:{address.ipv4_mapped}"
    network = ipaddress.IPv6Network((address, 64), strict=False)
    return f"addr:{network}"


def bucket_of(scope: Scope) -> tuple[str, bool]:
    """The request's bucket, and whether it is an API key's (else a client address's).

    Needs the authentication middleware to have run (it sets `scope["user"]`)."""
    user = scope.get("user")
    if isinstance(user, Caller) and user.key_id is not None:
        return f"key:{user.key_id}", True
    client = scope.get("client")
    return address_bucket(client[0] if client else "unknown"), False


class RateLimitMiddleware:
    """ASGI middleware that admits or refuses each request (listed after
    authentication, so that it knows the caller) and adds the RateLimit headers."""

    def __init__(self, app: ASGIApp, limiter: RateLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or scope["path"].startswith(EXEMPT_PREFIXES):
            await self.app(scope, receive, send)
            return
        bucket, keyed = bucket_of(scope)
        limiter = self.limiter
        decision = scope["state"].pop(COUNTED, None) or limiter.hit(
            bucket, limiter.key_limit if keyed else limiter.anonymous_limit
        )
        if not decision.allowed:
            raise TooManyRequests(
                f"the limit of {decision.limit} requests a minute for this "
                f"{'API key' if keyed else 'client address'} is used up; retry in "
                f"{decision.reset_seconds} s",
                headers={**decision.headers(), "Retry-After": str(decision.reset_seconds)},
            )
        # Sent by the app's one send wrapper (service/web/telemetry.py), not by one of
        # our own: each wrapper is a closure and an await more per message.
        scope["state"][EXTRA_HEADERS] = decision.encoded_headers()
        await self.app(scope, receive, send)


# ---- the OpenAPI document --------------------------------------------------------------

RATE_LIMIT_HEADERS = [
    ResponseHeader(
        name="RateLimit-Limit",
        description="Requests allowed per minute to this caller (API key or client address).",
        documentation_only=True,
        value="",  # documents the header as a string; never sent as is
    ),
    ResponseHeader(
        name="RateLimit-Remaining",
        description="Requests left in the current window.",
        documentation_only=True,
        value="",
    ),
    ResponseHeader(
        name="RateLimit-Reset",
        description="Seconds until the current window ends and the full limit is back.",
        documentation_only=True,
        value="",
    ),
]


class DocumentRateLimits(ReceiveRoutePlugin):
    """Documents the RateLimit headers and the 429 answer on every limited route (the
    exempt ones, probes, metrics and documents, say neither)."""

    def receive_route(self, route: BaseRoute) -> None:
        if not isinstance(route, HTTPRoute) or route.path.startswith(EXEMPT_PREFIXES):
            return
        for handler in route.route_handlers:
            responses = dict(handler.responses or {})
            responses.setdefault(429, problem_responses(429)[429])
            handler.responses = responses
            headers = list(handler.response_headers or [])
            names = {header.name for header in headers}
            handler.response_headers = [
                *headers,
                *(header for header in RATE_LIMIT_HEADERS if header.name not in names),
            ]
