"""The delivery worker: sends what the outbox holds, signed as Standard Webhooks.

It runs in every `serve` process (unless WEBHOOK_WORKER=false) and as
`python -m service worker`; any number of workers may run at once. Each loop claims a
batch of due deliveries (FOR UPDATE SKIP LOCKED, with a lease: see
repository.CLAIM_DUE), POSTs them concurrently without holding a database connection,
and records each attempt in a short transaction of its own:

- 2xx: `succeeded`.
- 410 Gone: the receiver asked to stop: the delivery is `dead` and the webhook is
  disabled (`active` false).
- Anything else (another status, a timeout, a refused connection, a destination that
  now resolves to a private address): `failed`, retried after an exponential backoff
  with jitter, or after the receiver's `Retry-After`; `dead` after MAX_ATTEMPTS.

Delivery is at least once: a worker that dies after sending but before recording
leaves the delivery to be retried when its lease runs out, and receivers deduplicate
on `webhook-id`, which is the same for every attempt of a delivery.

Retention: once at start and then every PURGE_INTERVAL_SECONDS, a worker deletes
finished deliveries (succeeded or dead) older than WEBHOOK_DELIVERY_RETENTION_DAYS with
their attempts, PURGE_BATCH at a time (each batch its own short transaction, so
deliveries and writes are never held up for long), at most PURGE_MAX_BATCHES per round.
"""

from __future__ import annotations

import asyncio
import base64
import email.utils
import hashlib
import hmac
import logging
import random
import signal
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import msgspec
from litestar import Litestar

from service.domain.history.schemas import EventAction, ResourceType
from service.integrations.webhooks import repository
from service.integrations.webhooks.schemas import DeliveryStatus, EventData, WebhookPayload
from service.integrations.webhooks.service import (
    Destination,
    DestinationRefused,
    resolve_destination,
)
from service.settings import Settings

log = logging.getLogger("service.webhooks")

# Delay before attempt n+1 after attempt n failed (attempts 1..7), then give up: about
# five hours from first try to last, the span over which receivers usually recover.
BACKOFF_SECONDS: tuple[float, ...] = (5, 30, 120, 600, 1800, 3600, 3 * 3600)
MAX_ATTEMPTS = len(BACKOFF_SECONDS) + 1
JITTER = 0.2  # +-20%: retries of many deliveries that failed together spread out
MAX_RETRY_AFTER_SECONDS = 24 * 3600.0
BATCH_SIZE = 16
# Retention of finished deliveries: how often a worker looks, and how much it deletes
# per statement and per round (a backlog is worked off over the following rounds).
PURGE_INTERVAL_SECONDS = 3600.0
PURGE_BATCH = 500
PURGE_MAX_BATCHES = 100
USER_AGENT = "verification-record-webhooks/1"
_MAX_ERROR_LENGTH = 500
# What an unreachable or failing database raises: logged without a traceback.
_DATABASE_UNAVAILABLE = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)


# ---- Standard Webhooks ------------------------------------------------------------------------


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header: `v1,` and the base64 HMAC-SHA256 of
    `{id}.{timestamp}.{body}`, keyed with the base64-decoded part of the `whsec_` secret."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """A `Retry-After` header (delay-seconds or an HTTP date) as seconds from now,
    capped at a day; None when absent or unreadable."""
    if value is None or not (value := value.strip()):
        return None
    if value.isascii() and value.isdigit():
        seconds = float(value)
    else:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)


def backoff_seconds(attempt: int, schedule: Sequence[float] = BACKOFF_SECONDS) -> float:
    """How long to wait after failed attempt number `attempt` (1-based), with jitter."""
    base = schedule[min(attempt, len(schedule)) - 1]
    return float(base) * random.uniform(1 - JITTER, 1 + JITTER)


def request_target(
    destination: Destination,
) -> tuple[httpx.URL, dict[str, str], dict[str, Any], httpx.BasicAuth | None]:
    """The URL, headers, extensions and auth to send a delivery to `destination` with.

    With a checked address, the request connects to that address, not to whatever the
    name resolves to a moment later (DNS rebinding); `Host` and TLS (SNI and the
    certificate check) still use the name. Credentials in the URL become Basic auth, so
    that the URL which the HTTP client logs carries none.
    """
    url, headers, extensions = destination.url, {}, {}
    auth = None
    if url.userinfo:
        auth = httpx.BasicAuth(url.username, url.password)
        url = url.copy_with(userinfo=b"")
    if destination.address is not None:
        url = url.copy_with(host=str(destination.address))
        headers["host"] = destination.url.netloc.decode("ascii")
        extensions["sni_hostname"] = destination.url.raw_host.decode("ascii")
    return url, headers, extensions, auth


# ---- one delivery -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Claim:
    """A due delivery this worker holds the lease on, with what sending it needs."""

    id: UUID
    attempts: int
    webhook_id: UUID
    url: str
    secret: str
    live: bool
    payload: WebhookPayload

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> Claim:
        return cls(
            id=row["id"],
            attempts=row["attempts"],
            webhook_id=row["webhook_id"],
            url=row["url"],
            secret=row["secret"],
            live=row["live"],
            payload=WebhookPayload(
                type=f"{row['resource_type']}.{row['action']}",
                timestamp=row["at"],
                data=EventData(
                    id=row["resource_id"],
                    type=ResourceType(row["resource_type"]),
                    version=row["version"],
                    action=EventAction(row["action"]),
                ),
            ),
        )


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one attempt came to: a status code, or an error without one."""

    status_code: int | None
    error: str | None
    retry_after: float | None
    duration_ms: int


class DeliveryWorker:
    """Delivers due webhook deliveries until stopped; safe to run many at once.

    `backoff` and `max_attempts` are the retry schedule (tests shorten it);
    `purge_batch` is how many finished deliveries one purge statement deletes;
    `transport` replaces the network (tests only).
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        settings: Settings,
        *,
        backoff: Sequence[float] = BACKOFF_SECONDS,
        max_attempts: int = MAX_ATTEMPTS,
        batch_size: int = BATCH_SIZE,
        purge_batch: int = PURGE_BATCH,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.pool = pool
        self.settings = settings
        self.backoff = tuple(backoff)
        self.max_attempts = max_attempts
        self.batch_size = batch_size
        self.purge_batch = purge_batch
        self.timeout = settings.webhook_timeout_seconds
        # Longer than any one delivery can take (the whole attempt is bounded by
        # `timeout`), so a claim never runs out while its request is in flight.
        self.lease_seconds = self.timeout + 60.0
        self.http = httpx.AsyncClient(
            transport=transport,
            timeout=self.timeout,
            # A redirect is a failure, not a new destination that skipped the address check.
            follow_redirects=False,
            # Proxy variables of the environment would bypass the address we checked.
            trust_env=False,
            # No connection reuse: requests are pinned to a checked address, and a pooled
            # TLS connection to that address may have been opened for another host name.
            limits=httpx.Limits(max_keepalive_connections=0),
            headers={"user-agent": USER_AGENT},
        )
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._next_purge = time.monotonic()  # the first round purges at once

    # ---- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="webhook-delivery-worker")

    async def stop(self) -> None:
        """Let deliveries in flight finish (they are bounded by the timeout), then close."""
        self._stopping.set()
        if self._task is not None:
            done, _ = await asyncio.wait({self._task}, timeout=self.timeout + 5)
            if not done:
                self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
        await self.http.aclose()

    async def run(self) -> None:
        """Deliver until `stop()`. Never raises: an unreachable database or any other
        failure is logged and retried with backoff, so it cannot take the app down."""
        failures = 0
        while not self._stopping.is_set():
            try:
                if time.monotonic() >= self._next_purge:
                    self._next_purge = time.monotonic() + PURGE_INTERVAL_SECONDS
                    await self.purge()
                handled = await self.run_once()
            except Exception as exc:
                failures += 1
                if isinstance(exc, _DATABASE_UNAVAILABLE):
                    log.warning(
                        "webhook worker cannot reach the database (%s); retrying",
                        type(exc).__name__,
                    )
                else:
                    log.exception("webhook worker failed; retrying")
                await self._pause(min(self.settings.webhook_poll_seconds * 2**failures, 30.0))
                continue
            failures = 0
            if handled < self.batch_size:  # a full batch means more may be due at once
                await self._pause(self.settings.webhook_poll_seconds)

    async def _pause(self, seconds: float) -> None:
        with suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)

    # ---- work ---------------------------------------------------------------------------

    async def run_once(self) -> int:
        """Claim one batch of due deliveries and attempt each; returns how many."""
        async with self.pool.acquire(timeout=self.settings.db_acquire_timeout_seconds) as conn:
            rows = await repository.claim_due(conn, self.batch_size, self.lease_seconds)
        if rows:
            await asyncio.gather(*(self._deliver(Claim.from_row(row)) for row in rows))
        return len(rows)

    async def purge(self) -> int:
        """Delete finished deliveries past the retention period (and their attempts), a
        batch at a time; returns how many. Nothing when retention is 0 (keep forever)."""
        days = self.settings.webhook_delivery_retention_days
        if days <= 0:
            return 0
        purged = 0
        for _ in range(PURGE_MAX_BATCHES):
            if self._stopping.is_set():
                break
            async with self.pool.acquire(timeout=self.settings.db_acquire_timeout_seconds) as conn:
                deleted = await repository.purge_finished(conn, days, self.purge_batch)
            purged += deleted
            if deleted < self.purge_batch:
                break
        if purged:
            log.info("purged %d webhook deliveries older than %d days", purged, days)
        return purged

    async def _deliver(self, claim: Claim) -> None:
        try:
            if not claim.live:
                async with self.pool.acquire(
                    timeout=self.settings.db_acquire_timeout_seconds
                ) as conn:
                    await repository.give_up(conn, claim.id, "the webhook is disabled or deleted")
                return
            attempted_at = datetime.now(UTC)
            outcome = await self._attempt(claim)
            await self._record(claim, attempted_at, outcome)
        except Exception as exc:
            # Unrecorded: the lease runs out and the delivery is tried again.
            log.warning(
                "webhook delivery %s not recorded (%s)",
                claim.id,
                type(exc).__name__,
                exc_info=not isinstance(exc, _DATABASE_UNAVAILABLE),
            )

    async def _attempt(self, claim: Claim) -> Outcome:
        started = time.monotonic()

        def outcome(
            status_code: int | None, error: str | None, retry_after: float | None = None
        ) -> Outcome:
            duration_ms = round((time.monotonic() - started) * 1000)
            return Outcome(status_code, error, retry_after, duration_ms)

        body = msgspec.json.encode(claim.payload)
        message_id = str(claim.id)
        try:
            async with asyncio.timeout(self.timeout):
                destination = await resolve_destination(
                    claim.url,
                    allow_private=self.settings.webhook_allow_private,
                    resolve_within=self.timeout,
                )
                url, headers, extensions, auth = request_target(destination)
                timestamp = int(time.time())
                headers |= {
                    "content-type": "application/json",
                    "webhook-id": message_id,
                    "webhook-timestamp": str(timestamp),
                    "webhook-signature": sign(claim.secret, message_id, timestamp, body),
                }
                request = self.http.build_request(
                    "POST", url, content=body, headers=headers, extensions=extensions
                )
                # The body of the answer is never read: only its status and Retry-After count.
                response = await self.http.send(request, auth=auth, stream=True)
                await response.aclose()
        except DestinationRefused as exc:
            return outcome(None, f"refused: {exc}")
        except TimeoutError:
            return outcome(None, f"no answer within {self.timeout:g} s")
        except httpx.HTTPError as exc:
            detail = str(exc) or type(exc).__name__
            return outcome(None, f"{type(exc).__name__}: {detail}"[:_MAX_ERROR_LENGTH])
        status = response.status_code
        if 200 <= status < 300:
            return outcome(status, None)
        reason = response.reason_phrase or "error"
        return outcome(
            status,
            f"HTTP {status} {reason}"[:_MAX_ERROR_LENGTH],
            retry_after_seconds(response.headers.get("retry-after")),
        )

    async def _record(self, claim: Claim, attempted_at: datetime, outcome: Outcome) -> None:
        number = claim.attempts + 1
        code = outcome.status_code
        retry_in: float | None = None
        error = outcome.error
        if code is not None and 200 <= code < 300:
            status = DeliveryStatus.SUCCEEDED
        elif code == 410:
            status = DeliveryStatus.DEAD
            error = "HTTP 410 Gone: the receiver asked for no more deliveries; webhook disabled"
        elif number >= self.max_attempts:
            status = DeliveryStatus.DEAD
        else:
            status = DeliveryStatus.FAILED
            retry_in = outcome.retry_after
            if retry_in is None:
                retry_in = backoff_seconds(number, self.backoff)
        async with (
            self.pool.acquire(timeout=self.settings.db_acquire_timeout_seconds) as conn,
            conn.transaction(),
        ):
            recorded = await repository.record_attempt(
                conn,
                claim.id,
                claim.attempts,
                status=status,
                retry_in_seconds=retry_in,
                attempted_at=attempted_at,
                duration_ms=outcome.duration_ms,
                status_code=code,
                error=error,
            )
            if recorded and code == 410:
                await repository.disable(conn, claim.webhook_id)
        if not recorded:
            log.warning("webhook delivery %s attempt %d was recorded elsewhere", claim.id, number)
        elif status is DeliveryStatus.DEAD:
            log.warning("webhook delivery %s gave up after attempt %d: %s", claim.id, number, error)
        elif status is DeliveryStatus.FAILED:
            log.info("webhook delivery %s attempt %d failed: %s", claim.id, number, error)


# ---- where workers run --------------------------------------------------------------------------


@asynccontextmanager
async def worker_lifespan(app: Litestar) -> AsyncIterator[None]:
    """Run a delivery worker in this process on `app.state.pool` (opened by the pool
    lifespan, which must come first) unless WEBHOOK_WORKER is off."""
    settings: Settings = app.state.settings
    if not settings.webhook_worker:
        yield
        return
    worker = DeliveryWorker(app.state.pool, settings)
    worker.start()
    try:
        yield
    finally:
        await worker.stop()


async def run_worker(settings: Settings) -> None:
    """`python -m service worker`: deliver until SIGINT or SIGTERM."""
    from service.kit.db import create_pool

    pool = await create_pool(settings)
    worker = DeliveryWorker(pool, settings)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    worker.start()
    try:
        await stopping.wait()
    finally:
        await worker.stop()
        try:
            await asyncio.wait_for(pool.close(), timeout=10)
        except TimeoutError:
            pool.terminate()
