"""Cross-process cache invalidation through PostgreSQL LISTEN/NOTIFY.

A write that makes some in-memory cache stale sends `pg_notify(CHANNEL, payload)` in
its own transaction, so the message goes out exactly when the change commits. Every
process keeps one listening connection; on a message it runs the handlers registered
for the payload's `kind`. When the listening connection is lost, messages may have been
missed, so every handler runs (with no payload) on reconnect: caches start over.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from typing import Any

import asyncpg
import msgspec
from litestar import Litestar

from service.kit.db import Connection

log = logging.getLogger("service.notifications")

CHANNEL = "verification_record"

Handler = Callable[[dict[str, Any] | None], Awaitable[None] | None]


async def notify(conn: Connection, kind: str, **fields: Any) -> None:
    """Announce a change of `kind`; delivered to every process when the transaction commits."""
    payload = msgspec.json.encode({"kind": kind, **fields}).decode()
    await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, payload)


class Listener:
    """The process's listening connection, reconnecting with backoff while it runs."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.handlers: dict[str, list[Handler]] = {}
        self._task: asyncio.Task[None] | None = None
        self._dispatching: set[asyncio.Task[None]] = set()
        self.connected = asyncio.Event()

    def on(self, kind: str, handler: Handler) -> None:
        self.handlers.setdefault(kind, []).append(handler)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="notification-listener")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        delay = 0.1
        while True:
            try:
                conn = await asyncpg.connect(self.dsn, timeout=5)
            except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
                log.warning(
                    "notification listener cannot connect (%s); retrying", type(exc).__name__
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            lost = asyncio.Event()
            conn.add_termination_listener(lambda _, lost=lost: lost.set())
            try:
                await conn.add_listener(CHANNEL, self._received)
                delay = 0.1
                await self._dispatch_all(None)  # anything may have changed while away
                self.connected.set()
                await lost.wait()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("notification listener lost its connection (%s)", type(exc).__name__)
            finally:
                self.connected.clear()
                if not conn.is_closed():
                    await conn.close(timeout=2)

    def _received(self, _conn: object, _pid: int, _channel: str, payload: object) -> None:
        try:
            message = msgspec.json.decode(str(payload))
        except msgspec.DecodeError:
            return
        if isinstance(message, dict):
            task = asyncio.create_task(self._dispatch(message.get("kind"), message))
            self._dispatching.add(task)
            task.add_done_callback(self._dispatching.discard)

    async def _dispatch(self, kind: object, message: dict[str, Any] | None) -> None:
        for handler in self.handlers.get(str(kind), ()):
            result = handler(message)
            if result is not None:
                await result

    async def _dispatch_all(self, message: dict[str, Any] | None) -> None:
        for kind in self.handlers:
            await self._dispatch(kind, message)


@asynccontextmanager
async def listener_lifespan(app: Litestar) -> AsyncIterator[None]:
    """Run `app.state.listener` for the app's lifetime (handlers are registered on it
    when the app is built)."""
    listener: Listener = app.state.listener
    listener.start()
    try:
        yield
    finally:
        await listener.stop()
