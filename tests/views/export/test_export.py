"""The export: every live published resource as NDJSON, streamed through a server-side
cursor in constant memory, with a change-feed cursor to continue from; the connection
it holds goes back to the pool however the stream ends."""

from __future__ import annotations

import asyncio
import json
import tracemalloc
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
import pytest

from service.app import create_app
from service.commands import example
from tests import keys
from tests.helpers import (
    all_ids,
    allow_bulk_loads,
    assert_problem,
    create_document,
    create_organization,
    create_statement,
    delete,
)

pytestmark = pytest.mark.asyncio

URL = "/v1/export"
NDJSON = "application/x-ndjson"
TYPES = {"organization", "person", "document", "statement", "relation", "assessment"}
COLLECTIONS = {
    "organization": "organizations",
    "person": "people",
    "document": "documents",
    "statement": "statements",
    "relation": "relations",
    "assessment": "assessments",
}


def parse(body: str) -> list[dict[str, Any]]:
    """Every line is one JSON object with a `type`; the last one ends with a newline."""
    assert body == "" or body.endswith("\n")
    lines = [json.loads(line) for line in body.split("\n")[:-1]]
    assert all(isinstance(line, dict) and line.get("type") in TYPES for line in lines)
    return lines


async def export(client: Any, **headers: str) -> tuple[Any, list[dict[str, Any]]]:
    response = await client.get(URL, headers=headers or None)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(NDJSON)
    return response, parse(response.text)


# ---- what is exported ---------------------------------------------------------------------------


@pytest.mark.also_behind_pgbouncer
async def test_export_is_the_published_record(client, anonymous_client, db):
    async with db.transaction():
        await example.load(db)
    leak = await create_document(client, title="Internal leak", visibility="internal")
    internal_quote = await create_statement(client, visibility="internal")
    gone = await create_statement(client, text="Deleted quote")
    await delete(client, f"/v1/statements/{gone['id']}")
    gone_outlet = await create_organization(client, name="Deleted outlet")
    await delete(client, f"/v1/organizations/{gone_outlet['id']}")
    some_statement = (await anonymous_client.get("/v1/statements", params={"limit": 1})).json()
    draft = (
        await client.post(
            "/v1/assessments",
            json={
                "subject": {"type": "statement", "id": some_statement["items"][0]["id"]},
                "verdict": "false",
                "headline": "A draft nobody outside may read",
            },
        )
    ).json()

    # The same for every key: the export is the published record, not the newsroom's.
    response, lines = await export(client)
    for secret in (keys.READ, keys.WRITE):
        assert (await export(anonymous_client, **keys.bearer(secret)))[1] == lines
    assert {line["type"] for line in lines} == TYPES
    for hidden in (leak, internal_quote, gone, gone_outlet, draft):
        assert hidden["id"] not in response.text
    assert "nobody outside" not in response.text

    # Exactly what anonymous callers can list, type by type...
    exported: dict[str, set[str]] = defaultdict(set)
    for line in lines:
        exported[line["type"]].add(line["id"])
    assert sum(len(ids) for ids in exported.values()) == len(lines)  # each once
    for type, collection in COLLECTIONS.items():
        listed = await all_ids(anonymous_client, f"/v1/{collection}", limit=100)
        assert exported[type] == set(listed), type
    # ...in the representation they get, plus `type` (a relation's own is `relation_type`),
    # written the same way: byte for byte what GET answers, `type` put first.
    raw_lines = response.content.split(b"\n")[:-1]
    for raw, line in zip(raw_lines, lines, strict=True):
        one = await anonymous_client.get(f"/v1/{COLLECTIONS[line['type']]}/{line['id']}")
        expected = {**one.json(), "type": line["type"]}
        if line["type"] == "relation":
            expected["relation_type"] = one.json()["type"]
        else:
            assert raw == b'{"type":"%s",%s' % (line["type"].encode(), one.content[1:])
        assert line == expected
    # Grouped by type, in the order they refer to each other.
    order = ["organization", "person", "document", "statement", "relation", "assessment"]
    types_in_order = [line["type"] for line in lines]
    assert types_in_order == sorted(types_in_order, key=order.index)


async def test_export_writes_values_as_the_json_api_does(client):
    """Timestamps in RFC 3339 UTC with `Z` (msgspec's form, as every other response),
    not PostgreSQL's `+00:00`: a line's fields are the GET response's, byte for byte."""
    organization = await create_organization(client, name="Reuters")
    statement = await create_statement(client, said_at="2020-01-06T15:30:00.5+01:00")
    response, lines = await export(client)
    assert b"+00:00" not in response.content
    by_id = {line["id"]: line for line in lines}
    for resource in (organization, statement):
        line = by_id[resource["id"]]
        for field in ("created_at", "updated_at"):
            assert line[field] == resource[field] and line[field].endswith("Z"), line
    assert (
        by_id[statement["id"]]["said_at"] == statement["said_at"] == "2020-01-06T14:30:00.500000Z"
    )
    got = await client.get(f"/v1/statements/{statement['id']}")
    statement_line = next(
        raw for raw in response.content.split(b"\n") if statement["id"].encode() in raw
    )
    assert statement_line == b'{"type":"statement",' + got.content[1:]


async def test_export_is_text_plain_for_a_client_that_asks(client):
    """The same bytes, labelled text/plain for tools that know no NDJSON; any other
    Accept (none, */*, a type it does not make) keeps NDJSON, as before."""
    await create_organization(client, name="Reuters")
    ndjson, lines = await export(client)
    assert len(lines) == 1
    for accept in ("text/plain", "text/*", "text/plain, application/x-ndjson;q=0.5"):
        response = await client.get(URL, headers={"Accept": accept})
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "text/plain; charset=utf-8", accept
        assert response.content == ndjson.content
        assert "Accept" in response.headers["vary"]
    for accept in ("*/*", "application/json", "application/x-ndjson, text/plain;q=0.5"):
        response = await client.get(URL, headers={"Accept": accept})
        assert response.headers["content-type"] == NDJSON, accept
        assert response.content == ndjson.content


async def test_export_needs_a_key(anonymous_client):
    assert_problem(await anonymous_client.get(URL), 401)
    await export(anonymous_client, **keys.bearer(keys.READ))


@pytest.mark.also_behind_pgbouncer
@pytest.mark.quiet_server  # the change feed: see tests/views/changes/test_changes.py
async def test_changes_cursor_continues_where_the_export_stands(client):
    before = await create_organization(client, name="In the export")
    response, lines = await export(client)
    assert [line["id"] for line in lines] == [before["id"]]
    after = await create_organization(client, name="After the export")
    feed = await client.get("/v1/changes", params={"cursor": response.headers["changes-cursor"]})
    assert [item["resource_id"] for item in feed.json()["items"]] == [after["id"]]


# ---- streaming: memory, disconnects, a busy pool ---------------------------------------------------

OnBody = Callable[[bytes], Awaitable[None]]


async def asgi_get(app: Any, path: str, on_body: OnBody, hang_up: asyncio.Event) -> int:
    """GET through the app's ASGI interface as a server would, handing each chunk to
    `on_body` as it is sent (test clients collect the whole body first). The client
    hangs up when `hang_up` is set; a complete response sets it."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver.local"),
            *((k.lower().encode(), v.encode()) for k, v in keys.bearer(keys.READ).items()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver.local", 80),
    }
    requested = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await hang_up.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            await on_body(message.get("body", b""))
            if not message.get("more_body", False):
                hang_up.set()

    await asyncio.wait_for(app(scope, receive, send), 30)
    return status


async def insert_statements(db: Any, count: int) -> None:
    speaker = await db.fetchval("INSERT INTO people (name) VALUES ('Bulk speaker') RETURNING id")
    await allow_bulk_loads(db)
    await db.execute(
        """INSERT INTO statements (speaker_id, text, context, tags)
           SELECT $1, 'Quote number ' || g || ': ' || repeat('something was said ', 10),
                  'At a briefing', ARRAY['bulk']
           FROM generate_series(1, $2) AS g""",
        speaker,
        count,
    )


async def test_export_streams_in_constant_memory(settings, db):
    statements = 20_000
    await insert_statements(db, statements)
    app = create_app(settings)
    lines = chunks = size = 0

    async def count(body: bytes) -> None:
        nonlocal lines, chunks, size
        lines += body.count(b"\n")
        chunks += 1 if body else 0
        size += len(body)

    async with app.lifespan():
        tracemalloc.start()
        try:
            baseline = tracemalloc.get_traced_memory()[0]
            status = await asgi_get(app, URL, count, asyncio.Event())
            peak = tracemalloc.get_traced_memory()[1] - baseline
        finally:
            tracemalloc.stop()

    assert status == 200
    assert lines == statements + 1  # and their speaker
    assert chunks > 10, "the export arrived in one piece: not streamed"
    # Decoded, 20k statements take tens of megabytes; their bytes alone ~10 MB. The
    # stream holds about one batch.
    assert peak < 20 * 2**20, f"peak {peak / 2**20:.1f} MiB"
    assert peak < size / 5, f"peak {peak / 2**20:.1f} MiB for {size / 2**20:.1f} MiB streamed"


async def wait_until_released(app: Any, db: Any) -> None:
    pool = app.state.pool
    for _ in range(100):
        in_transaction = await db.fetchval(
            """SELECT count(*) FROM pg_stat_activity
               WHERE datname = current_database() AND state LIKE 'idle in transaction%'"""
        )
        if pool.get_idle_size() == pool.get_size() and in_transaction == 0:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(
        f"{pool.get_size() - pool.get_idle_size()} connections still held, "
        f"{in_transaction} sessions idle in a transaction"
    )


@pytest.mark.parametrize("client_waits", [True, False], ids=["stuck-in-send", "mid-fetch"])
async def test_a_client_that_hangs_up_gets_its_connection_released(settings, db, client_waits):
    await insert_statements(db, 3000)
    app = create_app(settings)
    hang_up = asyncio.Event()
    received: list[bytes] = []

    async def first_chunk_then_leave(body: bytes) -> None:
        received.append(body)
        hang_up.set()
        if client_waits:  # the server is stuck sending when the client goes away
            await asyncio.Event().wait()

    async with app.lifespan():
        assert await asgi_get(app, URL, first_chunk_then_leave, hang_up) == 200
        await wait_until_released(app, db)
        # The pool is whole again: the next export runs to the end.
        complete = asyncio.Event()
        lines = 0

        async def count(body: bytes) -> None:
            nonlocal lines
            lines += body.count(b"\n")

        assert await asgi_get(app, URL, count, complete) == 200
        assert lines == 3001
        await wait_until_released(app, db)
    assert len(received) >= 1


async def test_a_busy_pool_is_503_before_the_stream_starts(settings, db):
    tight = msgspec.structs.replace(settings, db_pool_max_size=1, db_acquire_timeout_seconds=0.2)
    app = create_app(tight)
    body: list[bytes] = []

    async def keep(chunk: bytes) -> None:
        body.append(chunk)

    async with app.lifespan(), app.state.pool.acquire():
        status = await asgi_get(app, URL, keep, asyncio.Event())
    assert status == 503
    assert json.loads(b"".join(body))["status"] == 503
