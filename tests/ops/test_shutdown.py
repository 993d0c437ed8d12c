"""Graceful shutdown of a live `serve`: readiness fails first, the listener closes after
the drain delay, the request in flight finishes with its normal answer, the process
exits within its bound."""

from __future__ import annotations

import asyncio
import time

import asyncpg
import httpx
import pytest

from tests import keys
from tests.ops.support import LiveServer, eventually

pytestmark = pytest.mark.asyncio

DRAIN_SECONDS = 1.5


async def test_sigterm_drains_then_finishes_in_flight_requests(
    database_url: str, db: asyncpg.Connection
) -> None:
    # The PATCH below waits on a row lock; the statement timeout must outlast that. It is
    # the database's (the service checks that DB_STATEMENT_TIMEOUT_MS says the same).
    await db.execute(
        "DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET statement_timeout = ''30s'''"
        ", current_database()); END $$"
    )
    server = LiveServer(
        database_url, SHUTDOWN_DRAIN_SECONDS=str(DRAIN_SECONDS), DB_STATEMENT_TIMEOUT_MS="30000"
    )
    await asyncio.to_thread(server.start)
    try:
        async with httpx.AsyncClient(base_url=server.url, headers=keys.bearer(keys.ADMIN)) as http:
            created = await http.post("/v1/organizations", json={"name": "Reuters"})
            assert created.status_code == 201, created.text
            url = f"/v1/organizations/{created.json()['id']}"
            etag = created.headers["etag"]

            # Hold the row so that a PATCH through the API waits for it.
            lock = db.transaction()
            await lock.start()
            await db.execute(
                "SELECT 1 FROM organizations WHERE id = $1 FOR UPDATE", created.json()["id"]
            )
            in_flight = asyncio.create_task(
                http.patch(url, json={"url": "https://www.reuters.com"}, headers={"If-Match": etag})
            )

            async def patch_is_waiting() -> bool:
                return bool(
                    await db.fetchval(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                        "AND application_name = 'verification-record'"
                    )
                )

            await eventually(patch_is_waiting, 10)

            signalled_at = time.monotonic()
            server.signal()

            # Draining: readiness fails at once, while the listener still serves the rest.
            async with httpx.AsyncClient(base_url=server.url) as probe:

                async def not_ready() -> bool:
                    return (await probe.get("/health/ready")).status_code == 503

                await eventually(not_ready, DRAIN_SECONDS)
                ready = await probe.get("/health/ready")
                assert ready.status_code == 503
                assert ready.headers["content-type"].startswith("application/problem+json")
                assert (await probe.get("/health/live")).status_code == 200
                assert time.monotonic() - signalled_at < DRAIN_SECONDS

            # After the drain delay the listener is closed: new connections are refused.
            async def refused() -> bool:
                try:
                    async with httpx.AsyncClient(base_url=server.url, timeout=1) as fresh:
                        return (await fresh.get("/health/live")).status_code == 503
                except httpx.ConnectError:
                    return True

            await eventually(refused, DRAIN_SECONDS + 5)
            assert time.monotonic() - signalled_at >= DRAIN_SECONDS - 0.1
            assert not in_flight.done()

            # The request in flight still finishes, with its normal answer.
            await lock.rollback()
            patched = await asyncio.wait_for(in_flight, 10)
            assert patched.status_code == 200, patched.text
            assert patched.json()["url"] == "https://www.reuters.com"

        exit_code = await asyncio.to_thread(server.wait, 15)
        assert exit_code == 0, server.output()
        assert time.monotonic() - signalled_at < DRAIN_SECONDS + 15
        assert (
            await db.fetchval("SELECT url FROM organizations WHERE id = $1", created.json()["id"])
            == "https://www.reuters.com"
        )
        messages = [line.get("message", "") for line in server.log_lines()]
        assert any("draining" in m for m in messages), server.output()
    finally:
        server.stop()
