"""Prometheus metrics at `GET /metrics`.

What is measured:

- `vr_http_requests_total` and `vr_http_request_duration_seconds` (a histogram), by
  `method`, `route` (the route template, `/v1/statements/{id:uuid}`; `unmatched` for
  paths no route serves, so that scanners cannot create series) and `status`.
- `vr_db_pool_connections{pool, state}` (`in_use`, `idle`) and
  `vr_db_pool_max_connections{pool}` for the `primary` pool and, with
  DATABASE_READ_URL, the `replica` pool.
- `vr_db_replica_fallbacks_total{reason}`: reads that could have come from the replica
  but were served by the primary (service/web/transactions.py), because no replica
  connection came in time (`timeout`) or the replica could not be reached
  (`connection_error`). Both reasons are exposed from the start, at 0, and so is the
  counter without a replica, so that rules and dashboards see a series, not a gap.
- `vr_webhook_outbox_backlog` (deliveries pending or awaiting a retry),
  `vr_webhook_outbox_failing` (those whose last attempt failed) and
  `vr_webhook_outbox_overdue_seconds` (how late the most overdue one is: a stuck worker
  shows here first), read by one indexed query at scrape time with a short timeout;
  `vr_webhook_outbox_up` is 0 when that query could not answer (the table does not
  exist yet, the database is down or slow).
- `vr_read_cache_hits_total`, `vr_read_cache_misses_total` and `vr_read_cache_bytes`:
  the public GET-one and record answers of the read cache (service/web/read_cache.py).
- `process_*` (CPU, memory, file descriptors) and, with one worker, `python_*`.

Names follow Prometheus's conventions (base units, `_total` on counters only), and
`promtool check metrics` accepts the exposition without a warning
(tests/ops/test_monitoring.py, which also keeps the alerting rules in
deploy/prometheus/ and the dashboard in deploy/grafana/ naming only these metrics).

The hot path costs one dict lookup and two additions per request: each process adds
its requests into a plain dict (no lock: everything runs on the event loop), and
`flush` moves those sums into prometheus_client's metrics, at scrape time and, with
several workers, once a second. prometheus_client's own `observe` takes locks and, in
multiprocess mode, writes a memory-mapped file on every call: measured here at 2-6 µs a
request, against well under 1 µs for the dict.

Several workers: granian runs each worker in its own process, and a scrape reaches
whichever one accepts it. `serve --workers N` (N > 1) therefore sets
PROMETHEUS_MULTIPROC_DIR (a fresh temporary directory, unless the operator set one,
which it empties) before the workers start: each worker publishes into files there,
and the one answering a scrape sums them all, so counters survive a worker's restart
and gauges add up the live workers (a worker that stops cleanly withdraws its gauges;
one that crashed leaves its last values in the sums until `serve` restarts). Other
workers' numbers are up to FLUSH_INTERVAL_SECONDS old. `process_*` are summed over the workers in that mode
(start time: the oldest; max fds: the largest); `python_*` are left out.

Access: `/metrics` needs no key, like the probes. It reveals traffic volumes and
route names, never content; serve it to the monitoring network only (do not route
`/metrics` from the public load balancer). See README, "Operating it".
"""

from __future__ import annotations

import asyncio
import logging
import os
from bisect import bisect_left
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager, suppress
from typing import Any, Literal, Protocol, get_args

import asyncpg
import msgspec
from litestar import Controller, Litestar, Request, Response, get
from litestar.openapi.datastructures import ResponseSpec
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder

from service.web.auth import AUTHENTICATION_EXEMPT

log = logging.getLogger("service.metrics")

# Without this, each counter and histogram child also exposes a `..._created` gauge: in
# the text format Prometheus stores it as one more series per label set, and reads no
# creation time from it. Multiprocess mode never exposes them, so this also makes one
# worker and several expose the same families. (It applies to metrics created after it.)
disable_created_metrics()  # type: ignore[no-untyped-call]

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Seconds; from a cache hit to a request stuck behind the statement timeout.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# One slot per bucket and one for +Inf, then the sum of the durations.
_SLOTS = len(BUCKETS) + 2
FLUSH_INTERVAL_SECONDS = 1.0
OUTBOX_TIMEOUT_SECONDS = 0.5
LABELS = ("method", "route", "status")
UNMATCHED = "unmatched"
# Why a read meant for the replica was served by the primary.
ReplicaFallbackReason = Literal["timeout", "connection_error"]

# Uses the partial index webhook_deliveries_due (status IN ('pending', 'failed')): its
# cost follows the backlog, not the history of deliveries.
_OUTBOX = """
SELECT count(*) AS backlog,
       count(*) FILTER (WHERE status = 'failed') AS failing,
       coalesce(extract(epoch FROM now() - min(next_attempt_at)
                        FILTER (WHERE next_attempt_at <= now())), 0)::float8 AS overdue
FROM webhook_deliveries
WHERE status IN ('pending', 'failed')
"""


def multiprocess_dir() -> str | None:
    """The multiprocess directory, when prometheus_client was started in that mode (the
    variable must be set before the process imports prometheus_client)."""
    return os.environ.get(MULTIPROCESS_ENV) or None


class CacheCounts(Protocol):
    hits: int
    misses: int
    bytes: int


class _BatchedHistogram(Histogram):
    """A histogram that takes many observations at once, as counts per bucket."""

    def add(self, counts: Sequence[float], total: float) -> None:
        # prometheus_client has no batch API: these are the values `observe` adds to
        # (tests/ops/test_metrics.py checks the exposition against real observations).
        self._sum.inc(total)
        for value, count in zip(self._buckets, counts, strict=True):
            if count:
                value.inc(count)


class OutboxCounts(msgspec.Struct, frozen=True):
    backlog: int
    failing: int
    overdue_seconds: float


class _OutboxCollector:
    """The outbox numbers read by the current scrape (set just before it renders)."""

    def __init__(self) -> None:
        self.latest: OutboxCounts | None = None

    def collect(self) -> Iterable[Metric]:
        latest = self.latest
        yield GaugeMetricFamily(
            "vr_webhook_outbox_up",
            "1 if this scrape could read the webhook outbox, else 0.",
            value=0 if latest is None else 1,
        )
        if latest is None:
            return
        yield GaugeMetricFamily(
            "vr_webhook_outbox_backlog",
            "Webhook deliveries pending or awaiting a retry.",
            value=latest.backlog,
        )
        yield GaugeMetricFamily(
            "vr_webhook_outbox_failing",
            "Webhook deliveries whose last attempt failed and that wait for a retry.",
            value=latest.failing,
        )
        yield GaugeMetricFamily(
            "vr_webhook_outbox_overdue_seconds",
            "How long the most overdue webhook delivery has been due (0: none is late).",
            value=latest.overdue_seconds,
        )


class _ProcessPublisher:
    """Multiprocess mode: prometheus_client's process collector only sees the process
    answering the scrape, so each worker publishes its own numbers into the shared
    files, where they add up over the workers."""

    def __init__(self) -> None:
        self._source = ProcessCollector(registry=None)
        self._cpu = Counter(
            "process_cpu_seconds", "User and system CPU time of the workers.", registry=None
        )
        self._cpu_published = 0.0
        self._gauges = {
            gauge._name: gauge
            for gauge in (
                Gauge(
                    "process_resident_memory_bytes",
                    "Resident memory of the workers.",
                    registry=None,
                    multiprocess_mode="livesum",
                ),
                Gauge(
                    "process_virtual_memory_bytes",
                    "Virtual memory of the workers.",
                    registry=None,
                    multiprocess_mode="livesum",
                ),
                Gauge(
                    "process_open_fds",
                    "Open file descriptors of the workers.",
                    registry=None,
                    multiprocess_mode="livesum",
                ),
                Gauge(
                    "process_max_fds",
                    "Largest file descriptor limit of a worker.",
                    registry=None,
                    multiprocess_mode="livemax",
                ),
                Gauge(
                    "process_start_time_seconds",
                    "Start of the oldest live worker.",
                    registry=None,
                    multiprocess_mode="livemin",
                ),
            )
        }

    def publish(self) -> None:
        for family in self._source.collect():
            for sample in family.samples:
                if sample.name == "process_cpu_seconds_total":
                    if sample.value > self._cpu_published:
                        self._cpu.inc(sample.value - self._cpu_published)
                        self._cpu_published = sample.value
                elif (gauge := self._gauges.get(sample.name)) is not None:
                    gauge.set(sample.value)


class Metrics:
    """One process's metrics: `observe` on every request, `render` per scrape."""

    def __init__(self) -> None:
        self.multiprocess = multiprocess_dir() is not None
        self.registry = CollectorRegistry()
        # In multiprocess mode the values live in files and MultiProcessCollector
        # reads them back; the metric objects must not be registered themselves.
        own = None if self.multiprocess else self.registry
        self._requests = Counter(
            "vr_http_requests",
            "HTTP requests answered, by method, route template and status.",
            LABELS,
            registry=own,
        )
        self._durations = _BatchedHistogram(
            "vr_http_request_duration_seconds",
            "Time from receiving a request to sending the end of its response.",
            LABELS,
            buckets=BUCKETS,
            registry=own,
        )
        self._pool_connections = Gauge(
            "vr_db_pool_connections",
            "Database connections of the pools, by pool and state (in_use, idle).",
            ("pool", "state"),
            registry=own,
            multiprocess_mode="livesum",
        )
        self._pool_max = Gauge(
            "vr_db_pool_max_connections",
            "Largest number of connections the pools may open.",
            ("pool",),
            registry=own,
            multiprocess_mode="livesum",
        )
        replica_fallbacks = Counter(
            "vr_db_replica_fallbacks",
            "Reads that could have used the replica but were served by the primary, by "
            "reason (timeout: no replica connection in time; connection_error: replica "
            "unreachable).",
            ("reason",),
            registry=own,
        )
        self._replica_fallbacks = {
            reason: replica_fallbacks.labels(reason) for reason in get_args(ReplicaFallbackReason)
        }
        self._cache_hits = Counter(
            "vr_read_cache_hits",
            "Public GET-one and record requests answered from the read cache.",
            registry=own,
        )
        self._cache_misses = Counter(
            "vr_read_cache_misses",
            "Public GET-one and record requests the read cache could not answer "
            "(read from the database, and kept).",
            registry=own,
        )
        self._cache_bytes = Gauge(
            "vr_read_cache_bytes",
            "Bytes held by the read caches of the workers (READ_CACHE_MAX_BYTES each).",
            registry=own,
            multiprocess_mode="livesum",
        )
        # The app's read cache (service/web/read_cache.py), read at each flush; typed
        # by what is read here, as that module sits above this one.
        self.read_cache: CacheCounts | None = None
        self._cache_counted = (0, 0)
        self.outbox = _OutboxCollector()
        self.registry.register(self.outbox)
        self._process: _ProcessPublisher | None = None
        if self.multiprocess:
            multiprocess.MultiProcessCollector(self.registry)  # type: ignore[no-untyped-call]
            self._process = _ProcessPublisher()
        else:
            ProcessCollector(registry=self.registry)
            PlatformCollector(registry=self.registry)
            GCCollector(registry=self.registry)
        self.pools: dict[str, asyncpg.Pool] = {}
        self._pending: dict[tuple[str, str, int], list[float]] = {}
        self._children: dict[tuple[str, str, int], tuple[Counter, _BatchedHistogram]] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one answered request (the hot path: no lock, no I/O)."""
        key = (method, route, status)
        sums = self._pending.get(key)
        if sums is None:
            sums = self._pending[key] = [0.0] * _SLOTS
        sums[bisect_left(BUCKETS, seconds)] += 1
        sums[-1] += seconds

    def replica_fallback(self, reason: ReplicaFallbackReason) -> None:
        """Count one read sent to the primary because the replica failed it (rare: the
        counter is written at once, not batched like `observe`)."""
        self._replica_fallbacks[reason].inc()

    def flush(self) -> None:
        """Move the requests counted since the last flush into the Prometheus metrics,
        and read the pools (and, with several workers, this process) now."""
        pending, self._pending = self._pending, {}
        for key, sums in pending.items():
            children = self._children.get(key)
            if children is None:
                labels = (key[0], key[1], str(key[2]))
                children = self._children[key] = (
                    self._requests.labels(*labels),
                    self._durations.labels(*labels),
                )
            counts = sums[:-1]
            children[0].inc(sum(counts))
            children[1].add(counts, sums[-1])
        if (cache := self.read_cache) is not None:
            hits, misses = cache.hits, cache.misses
            self._cache_hits.inc(hits - self._cache_counted[0])
            self._cache_misses.inc(misses - self._cache_counted[1])
            self._cache_counted = (hits, misses)
            self._cache_bytes.set(cache.bytes)
        for name, pool in self.pools.items():
            size, idle = pool.get_size(), pool.get_idle_size()
            self._pool_connections.labels(name, "in_use").set(size - idle)
            self._pool_connections.labels(name, "idle").set(idle)
            self._pool_max.labels(name).set(pool.get_max_size())
        if self._process is not None:
            self._process.publish()

    def render(self, accept: str | None, outbox: OutboxCounts | None) -> tuple[bytes, str]:
        """The exposition for a scrape (format negotiated from `Accept`) and its media type."""
        self.flush()
        self.outbox.latest = outbox
        encode, media_type = choose_encoder(accept or "")
        return encode(self.registry), media_type


async def read_outbox(pool: asyncpg.Pool) -> OutboxCounts | None:
    """The webhook outbox's numbers, or None when they cannot be read quickly."""
    try:
        async with asyncio.timeout(OUTBOX_TIMEOUT_SECONDS), pool.acquire() as conn:
            row = await conn.fetchrow(_OUTBOX)
    except asyncpg.UndefinedTableError:
        return None  # the webhooks migration has not run on this database yet
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        # Scrapes come every few seconds; vr_webhook_outbox_up says it already.
        log.debug("webhook outbox not readable for metrics: %s", type(exc).__name__)
        return None
    assert row is not None
    return OutboxCounts(row["backlog"], row["failing"], row["overdue"])


def lifespan(metrics: Metrics) -> Any:
    """Watch the app's pools; with several workers, publish this worker's numbers every
    FLUSH_INTERVAL_SECONDS, and a last time when it stops. List after the pool's."""

    @asynccontextmanager
    async def run(app: Litestar) -> AsyncIterator[None]:
        metrics.pools["primary"] = app.state.pool
        if app.state.read_pool is not app.state.pool:
            metrics.pools["replica"] = app.state.read_pool
        task = asyncio.create_task(_publish(metrics)) if metrics.multiprocess else None
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with suppress(asyncio.CancelledError):
                    await task
                metrics.flush()
                # Drops this process's gauges (pool, memory) from the sums; its
                # counters stay, as a worker's past requests still happened.
                multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]

    return run


async def _publish(metrics: Metrics) -> None:
    while True:
        await asyncio.sleep(FLUSH_INTERVAL_SECONDS)
        try:
            metrics.flush()
        except Exception:  # never fatal: the next flush carries the counts
            log.exception("publishing metrics failed")


class MetricsController(Controller):
    path = "/metrics"
    tags = ["Health"]
    # Like the probes: a scrape never depends on an Authorization header.
    opt = AUTHENTICATION_EXEMPT

    @get(
        "/",
        operation_id="GetMetrics",
        summary="Prometheus metrics (for the monitoring network)",
        description=(
            "Request counts and latencies by route template and status, database pool "
            "use, reads that fell back from the replica to the primary, the webhook "
            "outbox's backlog and failures, and process metrics, in the Prometheus text "
            "format (OpenMetrics when asked for in `Accept`). Needs no key: keep it off "
            "the public network."
        ),
        media_type="text/plain",
        responses={
            200: ResponseSpec(
                data_container=str,
                media_type="text/plain; version=0.0.4",
                description="The metrics, in the Prometheus text exposition format.",
                generate_examples=False,
            )
        },
    )
    async def get_metrics(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        state = request.app.state
        outbox = await read_outbox(state.pool)
        body, media_type = state.metrics.render(request.headers.get("accept"), outbox)
        return Response(body, media_type=media_type, headers={"Cache-Control": "no-store"})
