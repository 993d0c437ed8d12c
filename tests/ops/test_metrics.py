"""GET /metrics: requests by route template and status, the pools, the webhook outbox,
process metrics; and, with several workers, the sum over all of them."""

from __future__ import annotations

import asyncio
import time
from bisect import bisect_left
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from litestar.testing import AsyncTestClient
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from service.app import create_app
from service.settings import Settings
from service.web.metrics import BUCKETS, _BatchedHistogram
from tests import keys
from tests.helpers import MISSING_ID, create_organization
from tests.ops.support import LiveServer

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


async def scrape(client: Any) -> Samples:
    response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    assert response.headers["cache-control"] == "no-store"
    return parse(response.text)


async def test_requests_are_counted_by_route_template_and_status(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    organization = await create_organization(client)
    for _ in range(2):
        assert (await client.get(f"/v1/organizations/{organization['id']}")).status_code == 200
    assert (await client.get(f"/v1/organizations/{MISSING_ID}")).status_code == 404
    assert (await client.get("/no/such/path")).status_code == 404

    samples = await scrape(client)
    one = {"method": "GET", "route": "/v1/organizations/{id:uuid}"}
    assert value(samples, "vr_http_requests_total", **one, status="200") == 2
    assert value(samples, "vr_http_requests_total", **one, status="404") == 1
    assert (
        value(
            samples,
            "vr_http_requests_total",
            method="POST",
            route="/v1/organizations",
            status="201",
        )
        == 1
    )
    assert (
        value(samples, "vr_http_requests_total", method="GET", route="unmatched", status="404") == 1
    )
    # The histogram: a count per label set, cumulative buckets, a positive sum.
    assert value(samples, "vr_http_request_duration_seconds_count", **one, status="200") == 2
    assert (
        value(samples, "vr_http_request_duration_seconds_bucket", **one, status="200", le="+Inf")
        == 2
    )
    assert (value(samples, "vr_http_request_duration_seconds_sum", **one, status="200") or 0) > 0
    # Never a raw path (an id) in a label.
    assert not [key for key in samples if any(organization["id"] in v for _, v in key[1])]

    # The pool, read at scrape time; the process.
    states = {dict(labels)["state"] for name, labels in samples if name == "vr_db_pool_connections"}
    assert states == {"in_use", "idle"}
    assert value(samples, "vr_db_pool_max_connections", pool="primary") == 16
    assert (value(samples, "process_cpu_seconds_total") or 0) > 0
    # Replica fallbacks show without a replica too, at 0, for every reason.
    assert value(samples, "vr_db_replica_fallbacks_total", reason="timeout") == 0
    assert value(samples, "vr_db_replica_fallbacks_total", reason="connection_error") == 0
    # No `..._created` gauge beside every counter and histogram (service/web/metrics.py).
    assert not [name for name, _ in samples if name.endswith("_created")]
    # A second scrape counts the first.
    again = await scrape(client)
    assert value(again, "vr_http_requests_total", method="GET", route="/metrics", status="200") == 1


async def test_the_webhook_outbox_is_read_at_scrape_time(
    database_url: str, db: asyncpg.Connection
) -> None:
    settings = Settings(
        database_url=database_url,
        public_base_url="http://testserver.local",
        webhook_allow_private=True,
        webhook_worker=False,  # nobody delivers: the delivery stays in the outbox
    )
    async with AsyncTestClient(app=create_app(settings)) as client:
        client.headers.update(keys.bearer(keys.ADMIN))
        samples = await scrape(client)
        assert value(samples, "vr_webhook_outbox_up") == 1
        assert value(samples, "vr_webhook_outbox_backlog") == 0

        hook = await client.post(
            "/v1/webhooks", json={"url": "http://127.0.0.1:9/hook", "events": ["*"]}
        )
        assert hook.status_code == 201, hook.text
        await create_organization(client)
        samples = await scrape(client)
        assert value(samples, "vr_webhook_outbox_backlog") == 1
        assert value(samples, "vr_webhook_outbox_failing") == 0

        await db.execute(
            "UPDATE webhook_deliveries SET status = 'failed', attempts = 1, "
            "next_attempt_at = now() - interval '30 seconds'"
        )
        samples = await scrape(client)
        assert value(samples, "vr_webhook_outbox_failing") == 1
        assert (value(samples, "vr_webhook_outbox_overdue_seconds") or 0) >= 30

        # A database without the table (yet): the scrape still answers.
        await db.execute("ALTER TABLE webhook_deliveries RENAME TO webhook_deliveries_elsewhere")
        samples = await scrape(client)
        assert value(samples, "vr_webhook_outbox_up") == 0
        assert value(samples, "vr_webhook_outbox_backlog") is None
        assert value(
            samples, "vr_http_requests_total", method="GET", route="/metrics", status="200"
        )


def test_batched_histogram_matches_observations() -> None:
    """The batch path writes what `observe` would (it relies on prometheus_client's
    internals, which this guards)."""
    durations = [0.0004, 0.001, 0.003, 0.003, 0.07, 0.4, 3.0, 12.0]
    observed_registry, batched_registry = CollectorRegistry(), CollectorRegistry()
    observed = Histogram("h", "h", ["route"], buckets=BUCKETS, registry=observed_registry)
    batched = _BatchedHistogram("h", "h", ["route"], buckets=BUCKETS, registry=batched_registry)
    counts = [0.0] * (len(BUCKETS) + 1)
    for seconds in durations:
        observed.labels("/x").observe(seconds)
        counts[bisect_left(BUCKETS, seconds)] += 1
    batched.labels("/x").add(counts, sum(durations))

    # No `_created` samples to tell them apart: service.web.metrics turns them off.
    assert parse(generate_latest(batched_registry).decode()) == parse(
        generate_latest(observed_registry).decode()
    )


async def test_several_workers_report_the_sum_of_all(database_url: str, tmp_path: Path) -> None:
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    # A previous run's leftovers (unreadable as metrics) must be cleared at start.
    (metrics_dir / "counter_999999.db").write_bytes(b"not a metrics file")
    server = LiveServer(database_url, workers=2, PROMETHEUS_MULTIPROC_DIR=str(metrics_dir))
    await asyncio.to_thread(server.start)
    try:
        # A fresh connection per request, so that both workers get some.
        async with httpx.AsyncClient(
            base_url=server.url, limits=httpx.Limits(max_keepalive_connections=0)
        ) as http:
            await asyncio.sleep(1.5)  # the start-up probes are published
            before = await http.get("/metrics")
            start = (
                value(
                    parse(before.text),
                    "vr_http_requests_total",
                    method="GET",
                    route="/health/live",
                    status="200",
                )
                or 0
            )
            for _ in range(30):
                assert (await http.get("/health/live")).status_code == 200
            # Every worker publishes within a second: wait until one answer has them all.
            deadline = time.monotonic() + 5
            while (
                value(
                    parse((await http.get("/metrics")).text),
                    "vr_http_requests_total",
                    method="GET",
                    route="/health/live",
                    status="200",
                )
                != start + 30
            ):
                assert time.monotonic() < deadline, "the workers never published their counts"
                await asyncio.sleep(0.05)
            for _ in range(4):  # whichever worker answers, it reports every worker's
                samples = parse((await http.get("/metrics")).text)
                live = value(
                    samples,
                    "vr_http_requests_total",
                    method="GET",
                    route="/health/live",
                    status="200",
                )
                assert live == start + 30
                # Each live worker's pool counts once: 2 x DB_POOL_MAX_SIZE.
                assert value(samples, "vr_db_pool_max_connections", pool="primary") == 32
                assert (value(samples, "process_resident_memory_bytes") or 0) > 0
        assert not (metrics_dir / "counter_999999.db").exists()
    finally:
        server.stop()
