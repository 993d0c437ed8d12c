"""The database goes away and comes back: requests fail fast with 503 meanwhile, the
service recovers on its own, and no acknowledged write is lost.

A cluster of its own (durable: fsync and synchronous commits on), so that crashing it
disturbs no other test and a commit acknowledged before the crash must survive it.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import httpx
import pytest

from devtools import devdb
from devtools.devdb import PostgresNotFound
from service.app import create_app
from service.commands import migrate
from service.settings import Settings
from tests import keys
from tests.ops.support import eventually

pytestmark = pytest.mark.asyncio

ACQUIRE_TIMEOUT = 1.0
# The key cache's lifetime in the outage test (5 s in the service): the outage outlasts
# it, so that authentication itself needs the database.
KEY_TTL = 1.0
FAST = 3.0  # every answer during the outage comes within this many seconds
APP = "verification-record"  # the pool's application_name


@pytest.fixture
async def cluster() -> AsyncIterator[devdb.LocalCluster]:
    try:
        devdb.find_bindir()
    except PostgresNotFound as exc:  # pragma: no cover - depends on the machine
        pytest.skip(str(exc))
    cluster = devdb.temporary_cluster(durable=True)
    await asyncio.to_thread(cluster.start)
    try:
        yield cluster
    finally:
        await asyncio.to_thread(cluster.stop)


async def _database(cluster: devdb.LocalCluster) -> str:
    admin = await asyncpg.connect(cluster.url)
    try:
        await admin.execute("CREATE DATABASE vr")
    finally:
        await admin.close()
    url = cluster.url_for("vr")
    await asyncio.to_thread(migrate.upgrade, url)
    conn = await asyncpg.connect(url)
    try:
        await keys.install(conn)
    finally:
        await conn.close()
    return url


class Writer:
    """POSTs organizations one after another until stopped; remembers every 201."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.acknowledged: list[str] = []
        self.statuses: list[int] = []
        self._stop = asyncio.Event()

    async def run(self) -> None:
        while not self._stop.is_set():
            response = await self.http.post(
                "/v1/organizations", json={"name": f"Outlet {uuid.uuid4().hex[:8]}"}
            )
            self.statuses.append(response.status_code)
            if response.status_code == 201:
                self.acknowledged.append(response.json()["id"])
            else:
                assert response.status_code == 503, response.text
            await asyncio.sleep(0.02)

    def stop(self) -> None:
        self._stop.set()

    def has(self, count: int) -> Callable[[], Awaitable[bool]]:
        async def check() -> bool:
            return len(self.acknowledged) >= count

        return check


async def _timed(http: httpx.AsyncClient, method: str, url: str, **kwargs: Any) -> httpx.Response:
    started = time.monotonic()
    response = await http.request(method, url, **kwargs)
    elapsed = time.monotonic() - started
    assert elapsed < FAST, f"{method} {url} took {elapsed:.1f} s"
    return response


def _assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, (response.request.url, response.text)
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["status"] == 503
    if response.request.url.path != "/health/ready":  # a probe needs no Retry-After
        assert response.headers.get("retry-after") == "1", response.request.url


async def test_outage_fails_fast_and_recovers_without_losing_writes(
    cluster: devdb.LocalCluster,
) -> None:
    url = await _database(cluster)
    settings = Settings(
        database_url=url,
        public_base_url="http://testserver.local",
        db_acquire_timeout_seconds=ACQUIRE_TIMEOUT,
        webhook_worker=False,
    )
    # The app runs in the test's event loop, so the writer really runs alongside.
    app = create_app(settings)
    app.state.key_cache.ttl_seconds = KEY_TTL
    transport = httpx.ASGITransport(app=app)
    async with (
        app.lifespan(),
        httpx.AsyncClient(
            transport=transport, base_url="http://testserver.local", headers=keys.bearer(keys.ADMIN)
        ) as http,
        httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as public,
    ):
        writer = Writer(http)
        writing = asyncio.create_task(writer.run())
        try:
            await eventually(writer.has(5))

            # The quick variant: every backend of the service is terminated. Pooled
            # connections die under it; at most one request per dead connection may
            # fail (503, never 500), and the pool reconnects.
            conn = await asyncpg.connect(url)
            try:
                terminated = await conn.fetchval(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE application_name = $1",
                    APP,
                )
            finally:
                await conn.close()
            assert terminated >= 1
            statuses = [
                (await _timed(http, "GET", "/v1/organizations")).status_code for _ in range(3)
            ]
            assert set(statuses) <= {200, 503} and statuses[-1] == 200, statuses

            # The real thing: the server crashes, writes in flight.
            acknowledged_before = len(writer.acknowledged)
            await asyncio.to_thread(cluster.crash)
            outage_started = time.monotonic()
            for client, method, path in (
                (public, "GET", "/v1/organizations"),
                (http, "GET", "/v1/organizations"),
                (http, "GET", f"/v1/organizations/{writer.acknowledged[0]}"),
                (http, "POST", "/v1/organizations"),
                (public, "GET", "/health/ready"),
            ):
                kwargs: dict[str, Any] = {}
                if method == "POST":
                    kwargs["json"] = {"name": "During the outage"}
                _assert_unavailable(await _timed(client, method, path, **kwargs))
            assert (await _timed(public, "GET", "/health/live")).status_code == 200
            # Keep the outage up past the key cache's lifetime: authentication needs the
            # database then, and must fail just as fast.
            await asyncio.sleep(max(0.0, KEY_TTL + 0.5 - (time.monotonic() - outage_started)))
            _assert_unavailable(await _timed(http, "GET", "/v1/organizations"))
            assert writer.statuses[-1] == 503

            # Back on the same data directory and port; no restart of the service.
            await asyncio.to_thread(cluster.start)
            restarted = time.monotonic()
            while (await public.get("/health/ready")).status_code != 200:
                assert time.monotonic() - restarted < 10, "the service did not recover"
                await asyncio.sleep(0.1)
            first = await _timed(http, "GET", "/v1/organizations")
            assert first.status_code == 200, first.text
            await eventually(writer.has(acknowledged_before + 5), seconds=15)
        finally:
            writer.stop()
            await writing

        # Every write that was acknowledged, before, during or after, is there.
        stored = {str(id_) for id_ in await _fetch_ids(url, writer.acknowledged)}
        assert stored == set(writer.acknowledged)
        for id_ in writer.acknowledged[:: max(1, len(writer.acknowledged) // 5)]:
            assert (await http.get(f"/v1/organizations/{id_}")).status_code == 200


async def _fetch_ids(url: str, ids: list[str]) -> list[uuid.UUID]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT id FROM organizations WHERE id = ANY($1::uuid[])", ids)
    finally:
        await conn.close()
    return [row["id"] for row in rows]
