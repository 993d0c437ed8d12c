"""Keep-alive clients through refused bodies, against a live `serve` (granian): every
answer given before the body was read (413, 401, 403, 429) says `Connection: close`,
and the client's next request, on a new connection, succeeds. Normal answers keep
the connection open."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from service.web import connections
from tests import keys
from tests.ops.support import LiveServer

LIST = "/v1/organizations"
# Bigger than MAX_BODY_BYTES (1 MiB by default) and than what the server buffers on
# its own, so that most of it is still unread when the 413 goes out.
BIG = 3 << 20
# Anonymous callers are refused by the rate limit after this many requests a minute.
ANONYMOUS_LIMIT = 3
JSON = {"Content-Type": "application/json"}


def big_body() -> bytes:
    return b'{"name": "' + b"x" * BIG + b'"}'


def sized_body(size: int) -> bytes:
    """A valid organization, padded to about `size` bytes."""
    return msgspec.json.encode({"name": "Reuters", "url": "https://example.org/" + "x" * size})


@pytest.fixture
def server(database_url: str) -> Iterator[LiveServer]:
    live = LiveServer(database_url, RATE_LIMIT_ANONYMOUS=str(ANONYMOUS_LIMIT))
    live.start()
    try:
        yield live
    finally:
        live.stop()


# What one client sends, in order: refused bodies of every kind between good requests.
# Each step: (what, method, path, headers, body, expected status, refused unread).
Step = tuple[str, str, str, dict[str, str], bytes | None, int, bool]


def steps() -> list[Step]:
    admin, read = keys.bearer(keys.ADMIN), keys.bearer(keys.READ)
    revoked, malformed = keys.bearer(keys.REVOKED), {"Authorization": "Bearer nonsense"}
    body = sized_body(200_000)  # fits the limit, far bigger than a socket read
    good = ("create", "POST", LIST, {**admin, **JSON}, sized_body(100), 201, False)
    listing = ("list", "GET", LIST, admin, None, 200, False)
    return [
        good,
        ("too large", "POST", LIST, {**admin, **JSON}, big_body(), 413, True),
        listing,
        ("revoked key", "POST", LIST, {**revoked, **JSON}, body, 401, True),
        good,
        ("malformed key", "POST", LIST, {**malformed, **JSON}, body, 401, True),
        ("read scope", "POST", LIST, {**read, **JSON}, body, 403, True),
        listing,
        # Read to its end before it is judged: the connection stays open.
        ("not JSON", "POST", LIST, {**admin, "Content-Type": "text/plain"}, body, 415, False),
        good,
        ("too large again", "POST", LIST, {**admin, **JSON}, big_body(), 413, True),
        ("too large twice", "POST", LIST, {**admin, **JSON}, big_body(), 413, True),
        good,
        # Anonymous: refused by the guard (401) until the address's budget is used up,
        # then by the rate limit (429); neither reads the body.
        *[
            ("anonymous", "POST", LIST, JSON, body, 401, True)
            for _ in range(ANONYMOUS_LIMIT)  # the probe at start-up is not counted
        ],
        ("rate limited", "POST", LIST, JSON, body, 429, True),
        ("rate limited", "POST", LIST, JSON, big_body(), 429, True),
        listing,
    ]


def test_an_httpx_keep_alive_client_gets_every_answer(server: LiveServer) -> None:
    seen: list[tuple[str, int, str | None]] = []
    # One connection at most: every request goes on the connection the previous left.
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    with httpx.Client(base_url=server.url, timeout=10, limits=limits) as client:
        for what, method, path, headers, body, status, unread in steps():
            response = client.request(method, path, headers=headers, content=body)
            seen.append((what, response.status_code, response.headers.get("connection")))
            assert response.status_code == status, (what, response.text)
            if status >= 400:
                assert response.headers["content-type"].startswith("application/problem+json")
            assert (response.headers.get("connection") == "close") is unread, seen
    assert len(seen) == len(steps())


def test_normal_answers_keep_the_connection_open(server: LiveServer) -> None:
    """Two requests with bodies, then one without, on one socket: three answers."""
    host, port = server.url.removeprefix("http://").split(":")
    body = sized_body(1000)
    post = (
        f"POST {LIST} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {keys.ADMIN}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    get = f"GET /health/live HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        statuses = [exchange(sock, request) for request in (post, post, get)]
    assert statuses == [(201, None), (201, None), (200, None)]


def exchange(sock: socket.socket, request: bytes) -> tuple[int, str | None]:
    """Send one request and read its answer (Content-Length framed) off the socket:
    its status and Connection header."""
    sock.sendall(request)
    received = b""
    for _ in range(1000):
        if b"\r\n\r\n" in received:
            break
        chunk = sock.recv(65536)
        assert chunk, f"closed before the answer: {received!r}"
        received += chunk
    head, _, rest = received.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    length = int(headers["content-length"])
    for _ in range(1000):
        if len(rest) >= length:
            break
        chunk = sock.recv(65536)
        assert chunk, "closed in the middle of the answer"
        rest += chunk
    assert len(rest) == length, "more than one answer to one request"
    return int(status_line.split()[1]), headers.get("connection")


@pytest.mark.parametrize(
    "expect",
    [
        pytest.param([], id="expect-100-continue"),
        # Without `Expect: 100-continue` curl sends the whole body before it reads the
        # answer, into a connection the server is closing.
        pytest.param(["-H", "Expect:"], id="body-sent-at-once"),
    ],
)
def test_curl_keepalive_through_refused_bodies(
    server: LiveServer, tmp_path: Path, expect: list[str]
) -> None:
    curl = shutil.which("curl")
    assert curl is not None, "curl is installed by scripts/ensure-test-tools"
    arguments: list[str] = [curl, "--keepalive", "--silent", "--show-error"]
    expected: list[int] = []
    for index, (_, method, path, headers, body, status, _) in enumerate(steps()):
        if index:
            arguments.append("--next")
        arguments += ["--output", "/dev/null", "--write-out", "%{http_code}\\n", "-X", method]
        arguments += [
            part for name, value in headers.items() for part in ("-H", f"{name}: {value}")
        ]
        if body is not None:
            body_file = tmp_path / f"body-{index}"
            body_file.write_bytes(body)
            arguments += ["--data-binary", f"@{body_file}", *expect]
        arguments.append(f"{server.url}{path}")
        expected.append(status)
    run = subprocess.run(arguments, capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode == 0, run.stderr
    assert [int(code) for code in run.stdout.split()] == expected, run.stderr


def assert_no_reset(result: Any) -> None:
    assert not isinstance(result, BaseException), result


async def test_many_refusals_at_once_leave_the_server_serving(server: LiveServer) -> None:
    """Several keep-alive clients, each through refused bodies at the same time."""

    async def one_client() -> list[int]:
        statuses = []
        async with httpx.AsyncClient(base_url=server.url, timeout=20) as client:
            for _ in range(3):
                too_large = await client.post(
                    LIST, content=big_body(), headers={**keys.bearer(keys.ADMIN), **JSON}
                )
                good = await client.get(LIST, headers=keys.bearer(keys.ADMIN))
                statuses += [too_large.status_code, good.status_code]
        return statuses

    results = await asyncio.gather(*(one_client() for _ in range(4)), return_exceptions=True)
    for result in results:
        assert_no_reset(result)
    assert results == [[413, 200] * 3] * 4


# ---- what is read of a refused body is bounded ------------------------------------------


async def test_an_endless_refused_body_is_read_no_further_than_the_bound() -> None:
    chunk = b"x" * 65536
    received = 0

    async def endless_body() -> dict[str, Any]:
        nonlocal received
        received += len(chunk)
        assert received < 4 * connections.DRAIN_MAX_BYTES, "the drain did not stop"
        return {"type": "http.request", "body": chunk, "more_body": True}

    await asyncio.wait_for(connections.drain(endless_body), 10)
    assert connections.DRAIN_MAX_BYTES <= received <= connections.DRAIN_MAX_BYTES + 2 * len(chunk)


async def test_a_client_that_stops_sending_is_waited_for_no_longer_than_the_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(connections, "DRAIN_SECONDS", 0.2)
    calls = 0

    async def silent_client() -> dict[str, Any]:
        nonlocal calls
        calls += 1
        await asyncio.sleep(3600)
        raise AssertionError("never woken")

    started = asyncio.get_running_loop().time()
    await asyncio.wait_for(connections.drain(silent_client), 5)
    assert calls == 1
    assert asyncio.get_running_loop().time() - started < 2
