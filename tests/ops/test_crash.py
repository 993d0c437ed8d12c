"""Crash safety, measured: a live `serve` is SIGKILLed while 8 writers create
organizations (with Idempotency-Keys) and change them (with If-Match); after a restart
on the same database each writer retries what was not acknowledged, as a client would,
with the same key or the same If-Match. Then:

- every acknowledged write is there exactly once, and every retried key made exactly
  one row (each organization's name names its key; its version counts its changes);
- each resource's events are versions 1..n with nothing missing or repeated;
- the change feed, followed from the start, lists every event exactly once, in commit
  order;
- the webhook outbox has one delivery per event and webhook, and every one of them
  reaches the receiver (delivery is at least once: a delivery sent but not recorded
  when the server died comes again).
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import asyncpg
import httpx
import msgspec
import pytest

from tests import keys
from tests.ops.support import LiveServer, eventually

pytestmark = [pytest.mark.asyncio, pytest.mark.quiet_server]

WRITERS = 8
# The kill comes once every writer has had this many writes acknowledged, after a
# random delay, so that it lands at a different point of the writers' requests each run.
ACKNOWLEDGED_BEFORE_KILL = 4
KILL_DELAY_SECONDS = (0.0, 0.5)
# Every request is answered well within this (or fails: the server is gone).
REQUEST_TIMEOUT = 10.0
# A retry that meets the dead server's transaction still ending is 409 (its key is
# locked) for a moment; it tries again this many times, 0.1 s apart.
RETRIES_WHILE_IN_FLIGHT = 50
SERVER_ENV = {
    # All writers share one key; the limit is not what this measures.
    "RATE_LIMIT_KEY": "1000000",
    "WEBHOOK_WORKER": "true",
    "WEBHOOK_ALLOW_PRIVATE": "true",  # the receiver is on 127.0.0.1
    "WEBHOOK_POLL_SECONDS": "0.2",
    "WEBHOOK_TIMEOUT_SECONDS": "5",
}


# ---- a webhook receiver -----------------------------------------------------------------


class _Listener(ThreadingHTTPServer):
    # The worker sends a batch of deliveries at once; the default backlog (5) drops
    # connections beyond it, which the worker would count as failed and retry later.
    request_queue_size = 64


class Receiver:
    """A local HTTP server that records every delivery (webhook-id, payload)."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, Any]]] = []
        lock = threading.Lock()
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # the name http.server calls
                body = self.rfile.read(int(self.headers["content-length"]))
                with lock:
                    received.append((self.headers["webhook-id"], msgspec.json.decode(body)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass  # quiet: the test reports what matters

        self.server = _Listener(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()


# ---- the writers ------------------------------------------------------------------------


@dataclass
class Organization:
    """What a writer knows of one of its organizations: what it should be now."""

    id: str
    name: str
    version: int
    etag: str


@dataclass
class Operation:
    """One write: a create (with its Idempotency-Key) or a change (with If-Match)."""

    name: str
    key: str | None = None  # a create's
    target: Organization | None = None  # a change's


@dataclass
class Writer:
    number: int
    organizations: list[Organization] = field(default_factory=list)
    keys_used: list[str] = field(default_factory=list)
    acknowledged: int = 0
    pending: Operation | None = None  # sent (or about to be) when the server died
    retried: Counter[str] = field(default_factory=Counter)
    writes: int = 0

    def next_operation(self) -> Operation:
        self.writes += 1
        name = f"Writer {self.number} write {self.writes}"
        if not self.organizations or self.writes % 3 == 0:
            key = f"crash-{self.number}-{self.writes}"
            self.keys_used.append(key)
            return Operation(name=name, key=key)
        return Operation(name=name, target=random.choice(self.organizations))

    async def send(self, http: httpx.AsyncClient, operation: Operation) -> httpx.Response:
        if operation.key is not None:
            return await http.post(
                "/v1/organizations",
                json={"name": operation.name},
                headers={"Idempotency-Key": operation.key},
            )
        assert operation.target is not None
        return await http.patch(
            f"/v1/organizations/{operation.target.id}",
            json={"name": operation.name},
            headers={"If-Match": operation.target.etag},
        )

    def acknowledge(self, operation: Operation, response: httpx.Response) -> None:
        body = response.json()
        assert body["name"] == operation.name, body
        if operation.key is not None:
            assert response.status_code == 201, response.text
            assert body["version"] == 1
            self.organizations.append(
                Organization(body["id"], operation.name, 1, response.headers["etag"])
            )
        else:
            assert response.status_code == 200, response.text
            target = operation.target
            assert target is not None and body["version"] == target.version + 1, body
            target.name, target.version = operation.name, body["version"]
            target.etag = response.headers["etag"]
        self.acknowledged += 1

    async def run(self, http: httpx.AsyncClient) -> None:
        """Write until the server dies; the write it was making stays `pending`."""
        while True:
            self.pending = self.next_operation()
            try:
                response = await self.send(http, self.pending)
            except httpx.TransportError:
                return
            self.acknowledge(self.pending, response)
            self.pending = None

    async def retry(self, http: httpx.AsyncClient) -> None:
        """Settle the unacknowledged write against the restarted server."""
        operation = self.pending
        if operation is None:
            return
        for _ in range(RETRIES_WHILE_IN_FLIGHT):
            response = await self.send(http, operation)
            if response.status_code != 409:  # 409: the dead server's try still ending
                break
            await asyncio.sleep(0.1)
        if operation.key is not None:
            # Replayed (the first try committed) or made now: one row either way.
            self.retried["replayed" if response.headers.get("idempotent-replayed") else "new"] += 1
            self.acknowledge(operation, response)
        elif response.status_code == 412:
            # The first try committed (nobody else changes this writer's organizations):
            # the change is there once, and the retry did not apply it again.
            assert operation.target is not None
            current = await http.get(f"/v1/organizations/{operation.target.id}")
            self.retried["already applied"] += 1
            self.acknowledge(operation, current)
        else:
            self.retried["applied now"] += 1
            self.acknowledge(operation, response)
        self.pending = None


# ---- the test ---------------------------------------------------------------------------


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


def client(server: LiveServer) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=server.url, headers=keys.bearer(keys.ADMIN), timeout=REQUEST_TIMEOUT
    )


async def test_a_killed_server_loses_and_repeats_nothing(
    database_url: str, db: asyncpg.Connection, receiver: Receiver
) -> None:
    started = time.monotonic()
    first = LiveServer(database_url, **SERVER_ENV)
    await asyncio.to_thread(first.start)
    writers = [Writer(number) for number in range(WRITERS)]
    try:
        async with client(first) as http:
            hook = await http.post("/v1/webhooks", json={"url": receiver.url, "events": ["*"]})
            assert hook.status_code == 201, hook.text
            webhook_id = hook.json()["id"]
            running = [asyncio.create_task(writer.run(http)) for writer in writers]

            async def all_have_written() -> bool:
                return all(w.acknowledged >= ACKNOWLEDGED_BEFORE_KILL for w in writers)

            await eventually(all_have_written, 30)
            await asyncio.sleep(random.uniform(*KILL_DELAY_SECONDS))
            assert first.process is not None
            os.killpg(first.process.pid, signal.SIGKILL)  # the server and its worker
            async with asyncio.timeout(REQUEST_TIMEOUT + 5):
                await asyncio.gather(*running)
    finally:
        first.stop()
    in_flight = sum(writer.pending is not None for writer in writers)
    assert in_flight >= 1, "the kill caught no write in flight"

    second = LiveServer(database_url, **SERVER_ENV)
    await asyncio.to_thread(second.start)
    try:
        async with client(second) as http:
            await asyncio.gather(*(writer.retry(http) for writer in writers))

            # A delivery the dead server had claimed is retried once its lease (a
            # minute) runs out: bring that moment forward, then wait for every one.
            await db.execute(
                "UPDATE webhook_deliveries SET next_attempt_at = now() "
                "WHERE status IN ('pending', 'failed') AND next_attempt_at > now()"
            )

            await all_delivered(db, within=25)
            feed = await follow_the_feed(http)
    finally:
        second.stop()

    # Every write acknowledged (before the kill or by its retry) is there, once.
    expected = {o.id: (o.name, o.version) for w in writers for o in w.organizations}
    rows = await db.fetch("SELECT id::text, name, version FROM organizations")
    assert {row["id"]: (row["name"], row["version"]) for row in rows} == expected
    # Every key made exactly one row and left exactly one record.
    all_keys = [key for writer in writers for key in writer.keys_used]
    assert len(rows) == len(all_keys)
    recorded = await db.fetch("SELECT key FROM idempotency_keys")
    assert sorted(row["key"] for row in recorded) == sorted(all_keys)

    # The event log: per resource, versions 1..n (n its version), created then updated.
    events = await db.fetch(
        "SELECT id, resource_type::text, resource_id::text, action::text, version "
        "FROM events ORDER BY xact_id, id"
    )
    by_resource: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for event in events:
        assert event["resource_type"] == "organization", event
        by_resource[event["resource_id"]].append((event["version"], event["action"]))
    assert by_resource.keys() == expected.keys()
    for resource_id, versions in by_resource.items():
        count = expected[resource_id][1]
        assert versions == [(1, "created")] + [(v, "updated") for v in range(2, count + 1)]

    # The change feed: every event exactly once, in commit order.
    assert [change["id"] for change in feed] == [event["id"] for event in events]

    # The outbox: one delivery per event, every one received (some more than once).
    deliveries = await db.fetch(
        "SELECT id::text, event_id FROM webhook_deliveries WHERE webhook_id = $1", webhook_id
    )
    assert sorted(d["event_id"] for d in deliveries) == sorted(e["id"] for e in events)
    received_ids = {webhook_message for webhook_message, _ in receiver.received}
    assert received_ids == {d["id"] for d in deliveries}
    received_events = {
        (payload["data"]["id"], payload["data"]["version"]) for _, payload in receiver.received
    }
    assert received_events == {(e["resource_id"], e["version"]) for e in events}

    elapsed = time.monotonic() - started
    retried = sum((w.retried for w in writers), Counter())
    print(
        f"\ncrash: {len(events)} events, {len(rows)} organizations, {in_flight} writes in "
        f"flight at the kill ({dict(retried)}), {len(receiver.received)} deliveries "
        f"received for {len(deliveries)}, {elapsed:.1f} s"
    )
    assert elapsed < 60


async def all_delivered(db: asyncpg.Connection, within: float) -> None:
    """Wait until every delivery has succeeded; fail with those that did not."""
    deadline = time.monotonic() + within
    while True:
        undelivered = await db.fetch(
            "SELECT d.status::text, d.attempts, d.next_attempt_at - now() AS due_in, "
            "d.last_status_code, d.last_error, d.event_id "
            "FROM webhook_deliveries d WHERE status <> 'succeeded'"
        )
        if not undelivered:
            return
        assert time.monotonic() < deadline, [dict(row) for row in undelivered]
        await asyncio.sleep(0.1)


async def follow_the_feed(http: httpx.AsyncClient) -> list[dict[str, Any]]:
    """Every change, following `next_cursor` from the start until a short page."""
    changes: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(1000):
        params: dict[str, Any] = {"limit": 100}
        if cursor is not None:
            params["cursor"] = cursor
        page = await http.get("/v1/changes", params=params)
        assert page.status_code == 200, page.text
        body = page.json()
        changes += body["items"]
        cursor = body["next_cursor"]
        if len(body["items"]) < 100:
            return changes
    raise AssertionError("the feed did not end within 1000 pages")
