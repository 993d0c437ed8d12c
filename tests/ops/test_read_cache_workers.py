"""Two live `serve` processes on one database, each with its own read cache
(service/web/read_cache.py): a writer reads its own writes on either of them at once,
and the public sees every commit on both within a second."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from tests import keys
from tests.helpers import create_statement, delete, patch
from tests.ops.support import LiveServer

pytestmark = pytest.mark.asyncio


@asynccontextmanager
async def servers(database_url: str, count: int) -> AsyncIterator[list[LiveServer]]:
    started = [LiveServer(database_url) for _ in range(count)]
    try:
        await asyncio.gather(*(asyncio.to_thread(server.start) for server in started))
        yield started
    finally:
        for server in started:
            server.stop()


async def within_a_second(public: httpx.AsyncClient, url: str, expect: object) -> float:
    """Poll `url` as the public until `expect` (a status, or a text field's value)."""
    started = time.monotonic()
    while True:
        response = await public.get(url)
        seen = response.status_code if isinstance(expect, int) else response.json()["text"]
        if seen == expect:
            return time.monotonic() - started
        assert time.monotonic() - started < 1.0, f"{public.base_url}{url}: still {seen!r}"
        await asyncio.sleep(0.02)


async def test_writes_reach_every_workers_cache(database_url: str) -> None:
    async with servers(database_url, 2) as (first, second):
        writers = [
            httpx.AsyncClient(base_url=s.url, headers=keys.bearer(keys.WRITE))
            for s in (first, second)
        ]
        public = [httpx.AsyncClient(base_url=s.url) for s in (first, second)]
        try:
            statement = await create_statement(writers[0])
            url = f"/v1/statements/{statement['id']}"
            record = f"{url}/record"
            # Both workers hold the public's copy.
            for client in public:
                for _ in range(2):
                    assert (await client.get(url)).json()["text"] == statement["text"]
                    assert (await client.get(record)).status_code == 200

            response = await patch(writers[0], url, {"text": "Changed on the first worker."})
            assert response.status_code == 200, response.text
            # The writer's next GET, on either worker, shows its write: no waiting.
            for writer in writers:
                assert (await writer.get(url)).json()["text"] == "Changed on the first worker."
            for client in public:
                await within_a_second(client, url, "Changed on the first worker.")
                body = (await client.get(record)).json()
                assert body["subject"]["text"] == "Changed on the first worker."

            await delete(writers[1], url)
            for writer in writers:
                assert (await writer.get(url)).status_code == 404
            for client in public:
                await within_a_second(client, url, 404)
                assert (await client.get(record)).status_code == 404

            # Each worker counted its hits in /metrics.
            metrics = (await public[1].get("/metrics")).text
            assert "vr_read_cache_hits_total" in metrics
            assert "vr_read_cache_bytes" in metrics
        finally:
            for client in (*writers, *public):
                await client.aclose()
