"""The read cache of public GET-one and record bytes (service/web/read_cache.py): its
bound, its tags, what a dropped LISTEN connection does, and, through the API, that the
public never sees bytes older than the last commit for longer than the notification
takes while the newsroom always reads its own writes."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

import msgspec
import pytest

from service.web.read_cache import ReadCache, tags_of
from tests.distribution.support import assess, caught_up, wait_listening
from tests.helpers import create_document, create_organization, create_statement, delete, patch

pytestmark = pytest.mark.asyncio


def listening_cache(max_bytes: int = 1 << 20) -> tuple[asyncio.Event, ReadCache]:
    listening = asyncio.Event()
    listening.set()
    return listening, ReadCache(listening, max_bytes=max_bytes)


def body_with(*ids: uuid.UUID, padding: int = 0) -> bytes:
    return msgspec.json.encode({"ids": ids, "pad": "x" * padding})


def keep(cache: ReadCache, key: str, body: bytes) -> None:
    with cache.fill() as fill:
        fill.keep(key, body, '"etag"')


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float = 1.0) -> float:
    """Poll until `check()` holds; fail after `seconds`; return how long it took."""
    started = time.monotonic()
    while not await check():
        assert time.monotonic() - started < seconds, f"not within {seconds} s"
        await asyncio.sleep(0.01)
    return time.monotonic() - started


# ---- the cache on its own -----------------------------------------------------------------


async def test_tags_are_the_ids_the_bytes_contain():
    a, b = uuid.uuid4(), uuid.uuid4()
    assert tags_of(body_with(a, b)) == {str(a).encode(), str(b).encode()}
    assert tags_of(b'{"name": "no ids here"}') == frozenset()


async def test_the_cache_is_bounded_by_bytes_least_recently_used_out_first():
    _, cache = listening_cache(max_bytes=10_000)
    ids = [uuid.uuid4() for _ in range(6)]
    for number, id in enumerate(ids):
        keep(cache, f"/v1/x/{number}", body_with(id, padding=2_000))
        # Reading the first keeps it the most recently used.
        assert cache.get("/v1/x/0") is not None
    assert cache.bytes <= 10_000
    assert "/v1/x/0" in cache
    assert "/v1/x/1" not in cache  # the least recently used went first
    assert "/v1/x/5" in cache
    # A representation larger than the whole cache is served, never kept.
    keep(cache, "/v1/huge", body_with(uuid.uuid4(), padding=20_000))
    assert "/v1/huge" not in cache and "/v1/x/5" in cache
    # The byte count follows every removal exactly.
    cache.forget(str(id).encode() for id in ids)
    assert len(cache) == 0 and cache.bytes == 0


async def test_an_announced_id_drops_every_entry_that_contains_it():
    _, cache = listening_cache()
    speaker, statement, other = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    keep(cache, f"/v1/statements/{statement}", body_with(statement, speaker))
    keep(cache, f"/v1/people/{speaker}", body_with(speaker))
    keep(cache, f"/v1/people/{other}", body_with(other))

    cache.on_notification({"kind": "reads", "ids": f"{speaker},{uuid.uuid4()}"})
    assert f"/v1/statements/{statement}" not in cache
    assert f"/v1/people/{speaker}" not in cache
    assert cache.get(f"/v1/people/{other}") is not None

    # "everything" (a payload too large for NOTIFY) and unreadable messages clear it.
    cache.on_notification({"kind": "reads", "all": True})
    assert len(cache) == 0 and cache.bytes == 0


async def test_a_read_that_overlaps_an_announcement_is_served_but_not_kept():
    _, cache = listening_cache()
    id = uuid.uuid4()
    with cache.fill() as fill:
        # The read began before the commit; its notification arrives before it ends.
        cache.on_notification({"kind": "reads", "ids": str(id)})
        fill.keep("/a", body_with(id), '"1"')
    assert "/a" not in cache

    with cache.fill() as fill:
        cache.on_notification(None)  # the listener reconnected
        fill.keep("/a", body_with(id), '"1"')
    assert "/a" not in cache

    with cache.fill() as fill:
        # Another id does not concern this read.
        cache.on_notification({"kind": "reads", "ids": str(uuid.uuid4())})
        fill.keep("/a", body_with(id), '"1"')
    assert cache.get("/a") is not None


async def test_nothing_is_served_or_kept_while_the_listener_is_down():
    listening, cache = listening_cache()
    keep(cache, "/a", body_with(uuid.uuid4()))
    listening.clear()
    assert cache.get("/a") is None
    keep(cache, "/b", body_with(uuid.uuid4()))
    listening.set()
    assert "/b" not in cache
    # Off by setting: 0 bytes.
    _, off = listening_cache(max_bytes=0)
    keep(off, "/a", body_with(uuid.uuid4()))
    assert off.get("/a") is None and len(off) == 0


# ---- through the API -------------------------------------------------------------------------


async def test_public_reads_come_from_memory_until_a_change_is_announced(
    anonymous_client, client, db
):
    await wait_listening(anonymous_client, client)
    cache: ReadCache = anonymous_client.app.state.read_cache
    statement = await create_statement(client)
    await caught_up(db, anonymous_client)
    url = f"/v1/statements/{statement['id']}"

    first = await anonymous_client.get(url)
    assert first.status_code == 200
    hits = cache.hits
    second = await anonymous_client.get(url)
    assert cache.hits == hits + 1
    assert second.content == first.content and second.headers["etag"] == first.headers["etag"]
    # A hit honours If-None-Match, and keeps the public's headers.
    not_modified = await anonymous_client.get(url, headers={"If-None-Match": first.headers["etag"]})
    assert not_modified.status_code == 304
    assert not_modified.headers["cache-control"] == first.headers["cache-control"]
    assert "x-request-id" in not_modified.headers

    # Behind the service's back (no event, so no notification) the hit still answers:
    # it never asked the database.
    await db.execute(
        "UPDATE statements SET text = 'changed quietly' WHERE id = $1", UUID(statement["id"])
    )
    assert (await anonymous_client.get(url)).json()["text"] == statement["text"]
    # The newsroom reads the database every time.
    assert (await client.get(url)).json()["text"] == "changed quietly"

    # A change through the API reaches the public within a second.
    response = await patch(client, url, {"text": "Changed through the API."})
    assert response.status_code == 200

    async def public_sees_it() -> bool:
        return (await anonymous_client.get(url)).json()["text"] == "Changed through the API."

    await eventually(public_sees_it)


async def test_a_record_is_dropped_when_anything_it_embeds_changes(anonymous_client, client, db):
    await wait_listening(anonymous_client, client)
    document = await create_document(client)
    denial = await create_statement(client)
    relation = await client.post(
        "/v1/relations",
        json={
            "source": {"type": "statement", "id": denial["id"]},
            "type": "denies",
            "target": {"type": "document", "id": document["id"]},
        },
    )
    assert relation.status_code == 201, relation.text
    await caught_up(db, anonymous_client)
    record_url = f"/v1/documents/{document['id']}/record"
    document_url = f"/v1/documents/{document['id']}"

    async def related_verdict() -> Any:
        record = (await anonymous_client.get(record_url)).json()
        return [related["item"]["verification"]["verdict"] for related in record["related"]]

    async def denials() -> int:
        return int((await anonymous_client.get(document_url)).json()["verification"]["denials"])

    assert await related_verdict() == [None]
    assert await denials() == 1
    cache: ReadCache = anonymous_client.app.state.read_cache
    assert record_url in cache and document_url in cache

    # A verdict on the related statement: the record embeds its verification.
    await assess(client, "statement", denial["id"], "false")

    async def record_shows_the_verdict() -> bool:
        return await related_verdict() == ["false"]

    await eventually(record_shows_the_verdict)

    # The denying statement made internal: the public no longer counts its denial,
    # although the document's own bytes never named the statement.
    response = await patch(client, f"/v1/statements/{denial['id']}", {"visibility": "internal"})
    assert response.status_code == 200

    async def denial_gone() -> bool:
        return await denials() == 0

    await eventually(denial_gone)

    # Deleted: 404 for the public within a second.
    await delete(client, document_url)

    async def gone() -> bool:
        return (await anonymous_client.get(document_url)).status_code == 404

    await eventually(gone)


async def test_a_verification_that_moves_without_an_event_of_its_subject_is_dropped(
    anonymous_client, client, db
):
    """An organization deleted stops corroborating what it confirmed: no event names the
    document, whose bytes never held the organization's id; the read model's own
    announcement drops it."""
    await wait_listening(anonymous_client, client)
    letter = await create_document(client)
    reuters = await create_organization(client, name="Reuters", kind="news_outlet")
    afp = await create_organization(client, name="AFP", kind="news_outlet")
    evidence = [
        {"kind": "confirmation", "organization_id": reuters["id"]},
        {"kind": "confirmation", "organization_id": afp["id"]},
    ]
    await assess(client, "document", letter["id"], "authentic", evidence=evidence)
    await caught_up(db, anonymous_client)
    url = f"/v1/documents/{letter['id']}"

    async def corroborations() -> int:
        return int((await anonymous_client.get(url)).json()["verification"]["corroborations"])

    assert await corroborations() == 2
    cache: ReadCache = anonymous_client.app.state.read_cache
    assert url in cache and afp["id"].encode() not in tags_of(cache.get(url).body)  # type: ignore[union-attr]

    await delete(client, f"/v1/organizations/{afp['id']}")

    async def one_left() -> bool:
        return await corroborations() == 1

    await eventually(one_left)


async def test_a_dropped_listen_connection_clears_the_cache_and_listens_again(
    anonymous_client, client, db
):
    await wait_listening(anonymous_client)
    cache: ReadCache = anonymous_client.app.state.read_cache
    statement = await create_statement(client)
    await caught_up(db, anonymous_client)
    url = f"/v1/statements/{statement['id']}"
    await anonymous_client.get(url)
    assert url in cache

    listener = anonymous_client.app.state.listener
    await db.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE query LIKE 'LISTEN%' AND datname = current_database()"
    )

    async def cleared_and_back() -> bool:
        return url not in cache and listener.connected.is_set()

    await eventually(cleared_and_back, seconds=5)
    # Listening again: it fills and is dropped by notifications as before.
    await anonymous_client.get(url)
    assert url in cache
    response = await patch(client, url, {"text": "After the reconnect."})
    assert response.status_code == 200

    async def dropped() -> bool:
        return url not in cache

    await eventually(dropped)


async def test_read_keys_share_the_cache_and_writers_bypass_it(anonymous_client, client, db):
    from tests import keys

    await wait_listening(anonymous_client)
    cache: ReadCache = anonymous_client.app.state.read_cache
    statement = await create_statement(client)
    await caught_up(db, anonymous_client)
    url = f"/v1/statements/{statement['id']}/record"
    await anonymous_client.get(url)
    hits = cache.hits
    read = await anonymous_client.get(url, headers=keys.bearer(keys.READ))
    assert read.status_code == 200 and cache.hits == hits + 1
    write = await anonymous_client.get(url, headers=keys.bearer(keys.WRITE))
    assert write.status_code == 200 and cache.hits == hits + 1
    # An internal statement is 404 to the public, and a 404 is never kept.
    hidden = await create_statement(client, visibility="internal")
    hidden_url = f"/v1/statements/{hidden['id']}"
    assert (await anonymous_client.get(hidden_url)).status_code == 404
    assert hidden_url not in cache
    assert (
        await anonymous_client.get(hidden_url, headers=keys.bearer(keys.WRITE))
    ).status_code == 200


async def test_the_trigger_announces_the_ids_or_everything_above_the_payload_limit(db):
    """Migration 0015: one message per INSERT into events; past NOTIFY's 8000 bytes,
    "everything" instead (a bulk import, say)."""
    received: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    def on_message(_conn: object, _pid: int, _channel: str, payload: str) -> None:
        message = msgspec.json.decode(payload)
        if message.get("kind") == "reads":
            received.put_nowait(message)

    await db.add_listener("verification_record", on_message)
    insert = (
        "INSERT INTO events (resource_type, resource_id, action, version) "
        "SELECT 'person', unnest($1::uuid[]), 'updated', 1"
    )
    few = [uuid.uuid4() for _ in range(3)]
    await db.execute(insert, few)
    message = await asyncio.wait_for(received.get(), 2)
    assert set(message["ids"].split(",")) == {str(id) for id in few}

    many = [uuid.uuid4() for _ in range(300)]  # 300 ids of 37 bytes: past the limit
    await db.execute(insert, many)
    assert await asyncio.wait_for(received.get(), 2) == {"kind": "reads", "all": True}


async def test_a_write_answers_only_once_its_own_process_dropped_the_old_bytes(
    anonymous_client, client, db
):
    """The settle after a write (service/views/badges/cache.py) covers the read cache:
    the next public GET on the writer's process has the write, with no wait."""
    from tests import keys

    await wait_listening(anonymous_client)
    statement = await create_statement(client)
    await caught_up(db, anonymous_client)
    url = f"/v1/statements/{statement['id']}"
    cache: ReadCache = anonymous_client.app.state.read_cache
    for text in ("First change.", "Second change.", "Third change."):
        await anonymous_client.get(url)
        assert url in cache
        etag = (await anonymous_client.get(url, headers=keys.bearer(keys.WRITE))).headers["etag"]
        response = await anonymous_client.patch(
            url, json={"text": text}, headers={**keys.bearer(keys.WRITE), "If-Match": etag}
        )
        assert response.status_code == 200, response.text
        assert url not in cache
        assert (await anonymous_client.get(url)).json()["text"] == text
