"""Fixtures for webhooks: a real HTTP receiver on loopback, clients whose app runs no
delivery worker of its own (so that each test decides who delivers, and when), and
delivery workers with a test-sized retry schedule."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import asyncpg
import msgspec
import pytest
from litestar.testing import AsyncTestClient

from service.app import create_app
from service.integrations.webhooks.worker import DeliveryWorker
from service.kit.db import create_pool
from service.settings import Settings
from tests import keys


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Reply:
    status: int = 204
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


class Receiver:
    """A tiny HTTP server in threads of its own (so it answers whatever the test's
    event loop is doing) that records every request and answers from a script:
    `script(Reply(500), Reply(500))` answers the next two requests 500, then 204."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self._script: list[Reply] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                with receiver._lock:
                    receiver.requests.append(
                        Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                    )
                    reply = receiver._script.pop(0) if receiver._script else Reply()
                time.sleep(reply.delay)
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hook"

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self._script.extend(replies)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def quiet_settings(settings: Settings) -> Settings:
    """Default rules (private addresses refused); no delivery worker in the app."""
    return msgspec.structs.replace(settings, webhook_worker=False)


@pytest.fixture
def loopback_settings(settings: Settings) -> Settings:
    """Private addresses allowed (the receiver is on loopback); no worker in the app."""
    return msgspec.structs.replace(settings, webhook_allow_private=True, webhook_worker=False)


async def _client(settings: Settings) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    async with AsyncTestClient(app=create_app(settings)) as test_client:
        test_client.headers.update(keys.bearer(keys.ADMIN))
        yield test_client


@pytest.fixture
async def admin(quiet_settings: Settings) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    async for test_client in _client(quiet_settings):
        yield test_client


@pytest.fixture
async def loopback_admin(loopback_settings: Settings) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    async for test_client in _client(loopback_settings):
        yield test_client


@pytest.fixture
async def make_worker(
    loopback_settings: Settings,
) -> AsyncIterator[Callable[..., Awaitable[DeliveryWorker]]]:
    """Build delivery workers, each on a pool of its own (as separate processes would
    be), retrying at once by default; all are stopped and closed after the test."""
    pools: list[asyncpg.Pool] = []
    workers: list[DeliveryWorker] = []

    async def build(settings: Settings | None = None, **options: Any) -> DeliveryWorker:
        settings = settings or loopback_settings
        pool = await create_pool(settings)
        pools.append(pool)
        options.setdefault("backoff", (0.0,))
        worker = DeliveryWorker(pool, settings, **options)
        workers.append(worker)
        return worker

    yield build
    for worker in workers:
        await worker.stop()
    for pool in pools:
        await pool.close()


async def eventually(predicate: Callable[[], bool], within: float = 10.0) -> None:
    """Wait until `predicate()` holds, or fail after `within` seconds."""
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the condition")
        await asyncio.sleep(0.02)
