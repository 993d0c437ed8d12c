"""Limits and headers every response shares: rate limits (per key, per address, across
processes, through a database outage), the request body limit (413, also for chunked
bodies and a lying Content-Length, through a live server), security headers, CORS,
Cache-Control and Vary."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, suppress
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import msgspec
import pytest
from litestar import Litestar

from service.app import create_app
from service.settings import Settings
from service.web.ratelimit import RateLimiter, address_bucket, window_start
from tests import keys
from tests.helpers import BASE_URL, PROBLEM, assert_problem, create_organization, snapshot

LIST = "/v1/organizations"


# ---- running apps in the test's event loop ---------------------------------------------------


def frozen_clock() -> Any:
    """The wall clock stopped now: a test's requests all fall in one rate-limit window
    (with the real clock, two requests a moment apart may straddle a window's end)."""
    at = time.time()
    return lambda: at


@asynccontextmanager
async def running(
    settings: Settings, *, flush_interval: float = 1.0, clock: Any = None
) -> AsyncIterator[Litestar]:
    """An app with its lifespan (pool, rate-limit flusher) running in this event loop,
    so that a test can reach into its limiter between requests; its limiter's clock
    stopped (`frozen_clock`) unless one is given."""
    app = create_app(settings)
    limiter_of(app).flush_interval = flush_interval
    limiter_of(app).clock = clock or frozen_clock()
    async with app.lifespan():
        yield app


def limiter_of(app: Litestar) -> RateLimiter:
    limiter: RateLimiter = app.state.rate_limiter
    return limiter


def http(app: Litestar, *, key: str | None = None, address: str = "198.51.100.7") -> Any:
    """A client of `app` as one caller: an API key, or (without one) a client address."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(address, 40_000)),
        base_url=BASE_URL,
        headers=keys.bearer(key) if key else {},
    )


def limited(settings: Settings, **limits: int) -> Settings:
    return msgspec.structs.replace(settings, **limits)


async def key_id(db: asyncpg.Connection, name: str) -> str:
    return str(await db.fetchval("SELECT id FROM api_keys WHERE name = $1", name))


async def shared_hits(db: asyncpg.Connection, bucket: str) -> int:
    hits = await db.fetchval("SELECT sum(hits) FROM rate_limit_windows WHERE bucket = $1", bucket)
    return int(hits or 0)


async def eventually(condition: Any, within: float = 5.0) -> None:
    """Wait until the (async) condition holds; fail after `within` seconds."""
    deadline = time.monotonic() + within
    while not await condition():
        assert time.monotonic() < deadline, "condition never became true"
        await asyncio.sleep(0.02)


def assert_rate_headers(response: Any, limit: int, remaining: int) -> int:
    assert response.headers["ratelimit-limit"] == str(limit), response.headers
    assert response.headers["ratelimit-remaining"] == str(remaining), response.headers
    reset = int(response.headers["ratelimit-reset"])
    assert 1 <= reset <= 60
    return reset


# ---- rate limits -----------------------------------------------------------------------------


@pytest.mark.also_behind_pgbouncer
async def test_the_request_over_the_limit_is_429_with_retry_after(settings):
    async with running(limited(settings, rate_limit_key=5)) as app, http(app, key=keys.ADMIN) as c:
        for remaining in (4, 3, 2, 1, 0):
            response = await c.get(LIST)
            assert response.status_code == 200, response.text
            assert_rate_headers(response, 5, remaining)
        refused = await c.get(LIST)
        assert_problem(refused, 429)
        reset = assert_rate_headers(refused, 5, 0)
        assert refused.headers["retry-after"] == str(reset)
        assert refused.json()["type"] == "/problems/too-many-requests"
        assert "no-store" in refused.headers["cache-control"]
        # Refusals are not counted: the caller is not pushed further out.
        again = await c.get(LIST)
        assert again.status_code == 429
        assert int(again.headers["retry-after"]) <= reset


async def test_writes_and_errors_count_too(settings):
    async with running(limited(settings, rate_limit_key=2)) as app, http(app, key=keys.ADMIN) as c:
        assert (await c.post(LIST, json={"name": "Reuters"})).status_code == 201
        missing = await c.get(f"{LIST}/00000000-0000-4000-8000-000000000000")
        assert missing.status_code == 404
        assert_rate_headers(missing, 2, 0)
        assert_problem(await c.post(LIST, json={"name": "AP"}), 429)


async def test_each_key_and_each_anonymous_address_has_its_own_budget(settings):
    settings = limited(settings, rate_limit_key=3, rate_limit_anonymous=2)
    async with (
        running(settings) as app,
        http(app, key=keys.ADMIN) as admin,
        http(app, key=keys.WRITE) as editor,
        http(app, address="203.0.113.1") as first_visitor,
        http(app, address="203.0.113.2") as second_visitor,
    ):
        for _ in range(3):
            assert (await admin.get(LIST)).status_code == 200
        assert (await admin.get(LIST)).status_code == 429
        # Another key, from the same address, is untouched: keys are counted per key.
        response = await editor.get(LIST)
        assert response.status_code == 200
        assert_rate_headers(response, 3, 2)
        # Anonymous callers get the anonymous limit, per address.
        for remaining in (1, 0):
            response = await first_visitor.get(LIST)
            assert response.status_code == 200
            assert_rate_headers(response, 2, remaining)
        assert_problem(await first_visitor.get(LIST), 429)
        response = await second_visitor.get(LIST)
        assert response.status_code == 200
        assert_rate_headers(response, 2, 1)


def test_ipv6_callers_are_counted_by_their_64_prefix():
    assert address_bucket("2001:db8:1:2:aaaa::1") == address_bucket("2001:db8:1:2:bbbb::2")
    assert address_bucket("2001:db8:1:2::1") != address_bucket("2001:db8:1:3::1")
    assert address_bucket("2001:db8:1:2::1") == "addr:2001:db8:1:2::/64"
    assert address_bucket("::ffff:192.0.2.1") == address_bucket("192.0.2.1") == "addr:192.0.2.1"


async def test_probes_and_documents_are_not_limited(settings):
    async with running(limited(settings, rate_limit_anonymous=1)) as app, http(app) as c:
        for path in (
            "/health/live",
            "/health/live",
            "/schema/openapi.json",
            "/schema/openapi.json",
        ):
            response = await c.get(path)
            assert response.status_code == 200, path
            assert "ratelimit-remaining" not in response.headers
        assert (await c.get(LIST)).status_code == 200
        assert (await c.get(LIST)).status_code == 429


async def test_the_budget_comes_back_when_the_window_ends(settings):
    now = [1_800_000_000.0]
    async with running(limited(settings, rate_limit_key=2)) as app, http(app, key=keys.ADMIN) as c:
        limiter_of(app).clock = lambda: now[0]
        await c.get(LIST)
        await c.get(LIST)
        refused = await c.get(LIST)
        assert refused.status_code == 429
        now[0] += int(refused.headers["retry-after"])
        response = await c.get(LIST)
        assert response.status_code == 200
        reset = assert_rate_headers(response, 2, 1)
        assert reset == 60  # a whole new window


async def test_a_clock_set_back_starts_a_new_window(settings):
    now = [1_800_000_000.0]
    async with running(limited(settings, rate_limit_key=1)) as app, http(app, key=keys.ADMIN) as c:
        limiter_of(app).clock = lambda: now[0]
        assert (await c.get(LIST)).status_code == 200
        assert (await c.get(LIST)).status_code == 429
        now[0] -= 3600
        assert (await c.get(LIST)).status_code == 200


def test_each_bucket_has_its_own_window_phase():
    now = 1_800_000_000.5
    starts = {window_start(f"addr:192.0.2.{n}", now) for n in range(50)}
    assert len(starts) > 10, "windows should not all reset at the same second"
    for start in starts:
        assert start <= now < start + 60 and start == int(start)


@pytest.mark.also_behind_pgbouncer
async def test_two_workers_share_one_budget_after_a_flush(settings, db):
    settings = limited(settings, rate_limit_key=5)
    bucket = f"key:{await key_id(db, 'test-admin')}"
    clock = frozen_clock()  # both workers in the same window
    async with (
        running(settings, flush_interval=3600, clock=clock) as one,
        running(settings, flush_interval=3600, clock=clock) as two,
        http(one, key=keys.ADMIN) as first,
        http(two, key=keys.ADMIN) as second,
    ):
        for _ in range(3):
            assert (await first.get(LIST)).status_code == 200
        assert await limiter_of(one).flush() == 1
        for _ in range(2):
            assert (await second.get(LIST)).status_code == 200
        await limiter_of(two).flush()
        assert await shared_hits(db, bucket) == 5
        # The second worker admitted only two requests itself, yet the budget is spent.
        refused = await second.get(LIST)
        assert_problem(refused, 429)
        assert_rate_headers(refused, 5, 0)


@pytest.mark.also_behind_pgbouncer
async def test_the_flusher_syncs_in_the_background(settings, db):
    bucket = f"key:{await key_id(db, 'test-admin')}"
    async with running(settings, flush_interval=0.05) as app, http(app, key=keys.ADMIN) as c:
        assert limiter_of(app).running
        await c.get(LIST)
        await c.get(LIST)

        async def synced() -> bool:
            return await shared_hits(db, bucket) == 2

        await eventually(synced)
    assert not limiter_of(app).running


async def test_a_bucket_near_its_limit_is_synced_at_once(settings, db):
    bucket = f"key:{await key_id(db, 'test-admin')}"
    settings = limited(settings, rate_limit_key=20)
    async with running(settings, flush_interval=3600) as app, http(app, key=keys.ADMIN) as c:
        for _ in range(17):  # 3 left: more than 10 % of the limit
            await c.get(LIST)
        await asyncio.sleep(0.3)
        assert await shared_hits(db, bucket) == 0
        await c.get(LIST)  # 2 left: within 10 %

        async def synced() -> bool:
            return await shared_hits(db, bucket) == 18

        await eventually(synced, within=2)


@pytest.mark.also_behind_pgbouncer
async def test_counts_are_synced_when_the_app_stops(settings, db):
    bucket = f"key:{await key_id(db, 'test-admin')}"
    async with running(settings, flush_interval=3600) as app, http(app, key=keys.ADMIN) as c:
        for _ in range(3):
            await c.get(LIST)
        assert await shared_hits(db, bucket) == 0
    assert await shared_hits(db, bucket) == 3


async def test_the_flusher_survives_a_database_outage_and_counts_locally(settings, db):
    bucket = f"key:{await key_id(db, 'test-admin')}"
    # Nothing listens on port 1: connecting fails as with a database that is down.
    dead = await asyncpg.create_pool("postgresql://u@127.0.0.1:1/none", min_size=0)
    settings = limited(settings, rate_limit_key=5)
    async with running(settings, flush_interval=0.05) as app, http(app, key=keys.ADMIN) as c:
        limiter = limiter_of(app)
        live, limiter.pool = limiter.pool, dead
        for _ in range(3):
            assert (await c.get(LIST)).status_code == 200

        async def failing() -> bool:
            return limiter.sync_failures >= 3

        await eventually(failing)
        assert limiter.running
        # The limit still holds, counted in this process alone.
        assert (await c.get(LIST)).status_code == 200
        assert_rate_headers(await c.get(LIST), 5, 0)
        assert (await c.get(LIST)).status_code == 429
        assert await shared_hits(db, bucket) == 0

        limiter.pool = live

        async def recovered() -> bool:
            return limiter.sync_failures == 0 and await shared_hits(db, bucket) == 5

        await eventually(recovered)
        assert limiter.running
    await dead.close()


async def test_old_windows_are_purged(settings, db):
    old = datetime.now(UTC) - timedelta(minutes=10)
    await db.execute(
        "INSERT INTO rate_limit_windows (bucket, window_start, hits) VALUES ($1, $2, 7)",
        "addr:192.0.2.9",
        old,
    )
    async with running(settings, flush_interval=3600) as app, http(app) as c:
        await c.get(LIST)
        await limiter_of(app).flush()
        assert await limiter_of(app).purge() == 1
    rows = await db.fetch("SELECT bucket FROM rate_limit_windows")
    assert [row["bucket"] for row in rows] == ["addr:198.51.100.7"]


# ---- request bodies over MAX_BODY_BYTES ---------------------------------------------------------

MAX_BODY = 2048


def oversized() -> bytes:
    return msgspec.json.encode({"name": "Reuters", "url": "https://example.org/" + "x" * 4000})


async def test_a_body_over_the_limit_is_413(settings, db):
    settings = limited(settings, max_body_bytes=MAX_BODY)
    async with running(settings) as app, http(app, key=keys.ADMIN) as c:
        before = await snapshot(db)
        response = await c.post(
            LIST, content=oversized(), headers={"Content-Type": "application/json"}
        )
        problem = assert_problem(response, 413)
        assert str(MAX_BODY) in problem["detail"]
        assert await snapshot(db) == before
        # A body of exactly the limit is fine.
        body = b'{"name": "Reuters"' + b" " * (MAX_BODY - 19) + b"}"
        assert len(body) == MAX_BODY
        small = await c.post(LIST, content=body, headers={"Content-Type": "application/json"})
        assert small.status_code == 201, small.text


async def asgi_post(app: Litestar, chunks: list[bytes], headers: list[tuple[bytes, bytes]]) -> Any:
    """POST a body to the app in `chunks`, as an ASGI server would stream it."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": LIST,
        "raw_path": LIST.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"testserver.local"),
            (b"content-type", b"application/json"),
            (b"authorization", f"Bearer {keys.ADMIN}".encode()),
            *headers,
        ],
        "client": ("198.51.100.7", 40_000),
        "server": ("testserver.local", 80),
    }
    messages = [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
        for i, chunk in enumerate(chunks)
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop(0)
        await asyncio.sleep(3600)  # a client that sends nothing more
        raise AssertionError

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)  # type: ignore[arg-type]
    start = sent[0]
    body = b"".join(m.get("body", b"") for m in sent[1:])
    headers = {k.decode().lower(): v.decode() for k, v in start["headers"]}
    return httpx.Response(start["status"], headers=headers, content=body)


async def test_a_chunked_body_over_the_limit_is_413(settings, db):
    body = oversized()
    chunks = [body[i : i + 1000] for i in range(0, len(body), 1000)]
    async with running(limited(settings, max_body_bytes=MAX_BODY)) as app:
        before = await snapshot(db)
        assert_problem(await asgi_post(app, chunks, []), 413)
        # A Content-Length that claims less than is sent changes nothing: bytes are counted.
        assert_problem(await asgi_post(app, chunks, [(b"content-length", b"100")]), 413)
        assert await snapshot(db) == before


@pytest.fixture
def live_server(database_url: str) -> Iterator[str]:
    """`python -m service serve` (granian) on a free port, on the test's database."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "MAX_BODY_BYTES": str(MAX_BODY),
        "WEBHOOK_WORKER": "false",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "service", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
            try:
                if httpx.get(f"{url}/health/live", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def raw_http(url: str, head: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send bytes exactly as given and read the first response (the connection may be
    closed by the server right after it)."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        # The server may answer (and close) before reading everything: the answer is there.
        with suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = sock.recv(65536)
            assert chunk, f"connection closed without a response: {received!r}"
            received += chunk
        header_block, _, rest = received.partition(b"\r\n\r\n")
        status_line, *lines = header_block.decode("latin-1").split("\r\n")
        headers = {
            name.strip().lower(): value.strip()
            for name, _, value in (line.partition(":") for line in lines)
        }
        length = int(headers.get("content-length", "0"))
        while len(rest) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            rest += chunk
        return int(status_line.split()[1]), headers, rest[:length]


def head(*lines: str) -> str:
    return "\n".join(
        [
            "POST /v1/organizations HTTP/1.1",
            "Host: 127.0.0.1",
            f"Authorization: Bearer {keys.ADMIN}",
            "Content-Type: application/json",
            *lines,
            "",
        ]
    )


def assert_live_problem(status: int, headers: dict[str, str], body: bytes, expected: int) -> None:
    assert status == expected, body
    assert headers["content-type"].startswith(PROBLEM), headers
    assert msgspec.json.decode(body)["status"] == expected


async def test_live_server_refuses_big_bodies_whatever_the_headers_say(live_server, db):
    before = await snapshot(db)
    big = oversized()
    # An honest Content-Length over the limit: refused before the body is read.
    status, headers, body = await asyncio.to_thread(
        raw_http, live_server, head(f"Content-Length: {len(big)}"), big
    )
    assert_live_problem(status, headers, body, 413)
    # No length at all (chunked): the bytes are counted as they arrive.
    chunked = b"".join(
        b"%x\r\n%s\r\n" % (len(big[i : i + 500]), big[i : i + 500]) for i in range(0, len(big), 500)
    )
    status, headers, body = await asyncio.to_thread(
        raw_http, live_server, head("Transfer-Encoding: chunked"), chunked + b"0\r\n\r\n"
    )
    assert_live_problem(status, headers, body, 413)
    # A Content-Length that lies low: the server frames the request by it, so the app
    # gets the first 100 bytes (not JSON) and never more; the rest is not a request.
    status, headers, body = await asyncio.to_thread(
        raw_http, live_server, head("Content-Length: 100"), big
    )
    assert_live_problem(status, headers, body, 400)
    # A Content-Length that lies high (over the limit) with a small body: refused at once.
    status, headers, body = await asyncio.to_thread(
        raw_http, live_server, head(f"Content-Length: {MAX_BODY * 10}"), b'{"name": "AP"}'
    )
    assert_live_problem(status, headers, body, 413)
    assert await snapshot(db) == before
    # And the server is still there.
    async with httpx.AsyncClient() as c:
        assert (await c.get(f"{live_server}/health/live", timeout=5)).status_code == 200


# ---- security headers --------------------------------------------------------------------------

SECURITY = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
}


def assert_security_headers(response: Any) -> None:
    for name, value in SECURITY.items():
        assert response.headers.get(name) == value, (name, response.headers)


async def test_every_response_has_security_headers(client, anonymous_client):
    ok = await client.get(LIST)
    assert ok.status_code == 200
    assert_security_headers(ok)
    invalid = await client.post(LIST, json={"name": ""})
    assert_problem(invalid, 422)
    assert_security_headers(invalid)
    unauthorized = await anonymous_client.post(LIST, json={"name": "Reuters"})
    assert_problem(unauthorized, 401)
    assert_security_headers(unauthorized)
    for path in ("/no/such/route", "/v1/no-such-collection"):
        not_found = await anonymous_client.get(path)
        assert not_found.status_code == 404
        assert_security_headers(not_found)
        assert not_found.headers["cache-control"] == "no-store"
    # Plain HTTP: no HSTS.
    assert "strict-transport-security" not in ok.headers


async def test_docs_may_run_scripts_and_hsts_comes_with_https(settings):
    https = msgspec.structs.replace(settings, public_base_url="https://api.example.org")
    async with running(https) as app, http(app) as c:
        docs = await c.get("/schema/swagger")
        assert docs.status_code == 200
        assert "content-security-policy" not in docs.headers
        assert "x-frame-options" not in docs.headers
        assert docs.headers["x-content-type-options"] == "nosniff"
        for response in (docs, await c.get(LIST), await c.get("/nothing-here")):
            assert response.headers["strict-transport-security"].startswith("max-age=31536000")


# ---- CORS ------------------------------------------------------------------------------------

FRONT_END = "https://desk.example.org"


def preflight(origin: str) -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": "PATCH",
        "Access-Control-Request-Headers": "authorization, content-type, if-match, idempotency-key",
    }


async def test_cors_allows_configured_origins_only(settings):
    configured = msgspec.structs.replace(settings, cors_allow_origins=(FRONT_END,))
    async with running(configured) as app, http(app, key=keys.ADMIN) as c:
        allowed = await c.options(LIST, headers=preflight(FRONT_END))
        assert allowed.status_code == 204
        assert allowed.headers["access-control-allow-origin"] == FRONT_END
        assert "PATCH" in allowed.headers["access-control-allow-methods"]
        requested = {"authorization", "content-type", "if-match", "idempotency-key"}
        allowed_headers = allowed.headers["access-control-allow-headers"].lower()
        assert requested <= {h.strip() for h in allowed_headers.split(",")}
        simple = await c.get(LIST, headers={"Origin": FRONT_END})
        assert simple.headers["access-control-allow-origin"] == FRONT_END
        exposed = {h.strip() for h in simple.headers["access-control-expose-headers"].split(",")}
        # Every header a front end has a use for reading.
        assert {
            "ETag",
            "Location",
            "X-Request-ID",
            "Changes-Cursor",
            "Idempotent-Replayed",
            "RateLimit-Limit",
            "RateLimit-Remaining",
            "RateLimit-Reset",
            "Retry-After",
        } <= exposed
        assert "Origin" in simple.headers["vary"] and "Authorization" in simple.headers["vary"]

        # A refused preflight is a problem like every other refusal, whatever was refused.
        other = await c.options(LIST, headers=preflight("https://evil.example.com"))
        assert "access-control-allow-origin" not in other.headers
        problem = assert_problem(other, 403)
        assert "origin" in problem["detail"].lower() and problem["instance"] == LIST
        assert other.headers["cache-control"] == "private, no-store"
        assert other.headers["x-request-id"]
        bad_method = {**preflight(FRONT_END), "Access-Control-Request-Method": "PUT"}
        assert "method" in assert_problem(await c.options(LIST, headers=bad_method), 403)["detail"]
        bad_header = {**preflight(FRONT_END), "Access-Control-Request-Headers": "x-secret"}
        assert "headers" in assert_problem(await c.options(LIST, headers=bad_header), 403)["detail"]
        cross = await c.get(LIST, headers={"Origin": "https://evil.example.com"})
        assert "access-control-allow-origin" not in cross.headers


async def test_no_cors_without_configured_origins(client):
    response = await client.options(LIST, headers=preflight(FRONT_END))
    assert "access-control-allow-origin" not in response.headers
    simple = await client.get(LIST, headers={"Origin": FRONT_END})
    assert simple.status_code == 200
    assert "access-control-allow-origin" not in simple.headers


# ---- Cache-Control and Vary ----------------------------------------------------------------------


async def test_keyed_responses_are_private(client):
    organization = await create_organization(client)
    url = f"{LIST}/{organization['id']}"
    response = await client.get(url)
    assert response.headers["cache-control"] == "private"
    assert "Authorization" in response.headers["vary"]
    not_modified = await client.get(url, headers={"If-None-Match": response.headers["etag"]})
    assert not_modified.status_code == 304
    assert not_modified.headers["cache-control"] == "private"
    missing = await client.get(f"{LIST}/00000000-0000-4000-8000-000000000000")
    assert missing.headers["cache-control"] == "private, no-store"
    keys_list = await client.get("/v1/api-keys")
    assert keys_list.status_code == 200
    assert keys_list.headers["cache-control"] == "private, no-store"


async def test_anonymous_reads_of_published_content_may_be_cached_publicly(
    client, anonymous_client
):
    organization = await create_organization(client)
    url = f"{LIST}/{organization['id']}"
    response = await anonymous_client.get(url)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=0, must-revalidate"
    assert response.headers["vary"] == "Authorization"
    assert response.headers["etag"]
    revalidated = await anonymous_client.get(
        url, headers={"If-None-Match": response.headers["etag"]}
    )
    assert revalidated.status_code == 304
    assert revalidated.headers["cache-control"] == "public, max-age=0, must-revalidate"
    listing = await anonymous_client.get(LIST)
    assert listing.headers["cache-control"] == "public, max-age=0, must-revalidate"


async def test_errors_and_probes_are_not_stored(anonymous_client):
    missing = await anonymous_client.get(f"{LIST}/00000000-0000-4000-8000-000000000000")
    assert_problem(missing, 404)
    assert missing.headers["cache-control"] == "no-store"
    refused = await anonymous_client.get("/v1/api-keys")
    assert_problem(refused, 401)
    assert refused.headers["cache-control"] == "no-store"
    live = await anonymous_client.get("/health/live")
    assert live.headers["cache-control"] == "no-store"


async def test_a_handlers_own_cache_control_is_kept(client):
    # Creating an API key answers `no-store` itself (the response holds the secret).
    created = await client.post("/v1/api-keys", json={"name": "desk", "scopes": ["read"]})
    assert created.status_code == 201, created.text
    assert created.headers["cache-control"] == "no-store"
