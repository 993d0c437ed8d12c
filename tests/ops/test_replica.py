"""DATABASE_READ_URL against a real streaming replica: the public's and `read` keys'
GETs read from the replica, the newsroom and every write use the primary.

The replica's lag is made visible by pausing its WAL replay: a row written through the
API then exists on the primary only.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from devtools import devdb
from devtools.devdb import PostgresNotFound
from service.app import create_app
from service.commands import migrate
from service.settings import Settings
from tests import keys
from tests.ops.support import eventually

pytestmark = pytest.mark.asyncio

BASE_URL = "http://testserver.local"


@pytest.fixture
async def clusters() -> AsyncIterator[tuple[str, str, devdb.LocalCluster]]:
    """(primary URL, replica URL, replica cluster), the database migrated, keys in."""
    try:
        devdb.find_bindir()
    except PostgresNotFound as exc:  # pragma: no cover - depends on the machine
        pytest.skip(str(exc))
    primary = devdb.temporary_cluster()
    await asyncio.to_thread(primary.start)
    replica: devdb.LocalCluster | None = None
    try:
        admin = await asyncpg.connect(primary.url)
        try:
            await admin.execute("CREATE DATABASE vr")
        finally:
            await admin.close()
        primary_url = primary.url_for("vr")
        await asyncio.to_thread(migrate.upgrade, primary_url)
        conn = await asyncpg.connect(primary_url)
        try:
            await keys.install(conn)
        finally:
            await conn.close()
        replica = await asyncio.to_thread(devdb.temporary_replica, primary)
        await asyncio.to_thread(replica.start)
        yield primary_url, replica.url_for("vr"), replica
    finally:
        if replica is not None:
            await asyncio.to_thread(replica.stop)
        await asyncio.to_thread(primary.stop)


async def replica_fallbacks(client: httpx.AsyncClient) -> dict[str, float]:
    """vr_db_replica_fallbacks_total by reason, from /metrics."""
    response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    return {
        sample.labels["reason"]: sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
        if sample.name == "vr_db_replica_fallbacks_total"
    }


async def test_public_reads_come_from_the_replica(
    clusters: tuple[str, str, devdb.LocalCluster],
) -> None:
    primary_url, replica_url, replica = clusters
    standby = await asyncpg.connect(replica_url)
    try:
        assert await standby.fetchval("SELECT pg_is_in_recovery()")
        settings = Settings(
            database_url=primary_url,
            database_read_url=replica_url,
            public_base_url=BASE_URL,
            webhook_worker=False,
        )
        app = create_app(settings)
        transport = httpx.ASGITransport(app=app)

        def client(secret: str | None = None) -> httpx.AsyncClient:
            headers = keys.bearer(secret) if secret else {}
            return httpx.AsyncClient(transport=transport, base_url=BASE_URL, headers=headers)

        async with app.lifespan(), client(keys.ADMIN) as admin, client() as public:
            async with client(keys.READ) as partner, client(keys.WRITE) as editor:
                first = await admin.post("/v1/organizations", json={"name": "Reuters"})
                assert first.status_code == 201

                async def replicated() -> bool:
                    response = await public.get(f"/v1/organizations/{first.json()['id']}/history")
                    return response.status_code == 200

                await eventually(replicated)

                # Hold the replica's replay: it now lags the primary for as long as we like.
                await standby.execute("SELECT pg_wal_replay_pause()")

                async def paused() -> bool:
                    state = await standby.fetchval("SELECT pg_get_wal_replay_pause_state()")
                    return bool(state == "paused")

                await eventually(paused)

                created = await admin.post("/v1/organizations", json={"name": "Associated Press"})
                assert created.status_code == 201, created.text
                url = f"/v1/organizations/{created.json()['id']}"

                # The newsroom reads its own writes (primary); the public and `read` keys
                # read the replica, which has not seen the row yet (its history here).
                assert (await admin.get(url)).status_code == 200
                assert (await editor.get(url)).status_code == 200
                assert (await public.get(f"{url}/history")).status_code == 404
                assert (await partner.get(f"{url}/history")).status_code == 404
                # But a GET one is filled into the read cache from the primary: a
                # replica behind an announced commit would refill it with old bytes
                # for good (service/web/read_cache.py).
                assert (await public.get(url)).status_code == 200
                listed = await public.get("/v1/organizations")
                assert [item["name"] for item in listed.json()["items"]] == ["Reuters"]
                # The change feed reads the primary even for a `read` key.
                feed = await partner.get("/v1/changes", params={"limit": 100})
                assert feed.status_code == 200, feed.text
                assert created.json()["id"] in {
                    item["resource_id"] for item in feed.json()["items"]
                }

                await standby.execute("SELECT pg_wal_replay_resume()")

                async def caught_up() -> bool:
                    return (await public.get(f"{url}/history")).status_code == 200

                await eventually(caught_up)
                assert (await partner.get(f"{url}/history")).status_code == 200

            # A replica that cannot be reached: public reads fall back to the primary,
            # and the metrics count each fallback.
            assert await replica_fallbacks(public) == {"timeout": 0, "connection_error": 0}
            await asyncio.to_thread(replica.crash)
            fallback = await public.get(f"{url}/history")
            assert fallback.status_code == 200, fallback.text
            assert await replica_fallbacks(public) == {"timeout": 0, "connection_error": 1}
    finally:
        standby.terminate()
