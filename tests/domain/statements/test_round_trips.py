"""A write costs a handful of round trips to PostgreSQL, however many rows it touches:
the count of POST and PATCH of statements and documents is pinned here, so that a
change that adds a round trip fails instead of slowing every write."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest
from litestar.testing import AsyncTestClient

from service.app import create_app
from service.settings import Settings
from service.web import idempotency
from tests import keys
from tests.helpers import create_organization, create_person

pytestmark = pytest.mark.asyncio

# What a POST with an Idempotency-Key sends, in order: BEGIN, the key's claim (lock and
# lookup, migration 0013), the create (references, row, appearances, event, outbox by
# trigger, representation), the key's record, COMMIT. Each query is one round trip once
# the connection has prepared it.
WITH_KEY = ["BEGIN", "claim_idempotency_key", "write", "INSERT INTO idempotency_keys", "COMMIT"]
WITHOUT_KEY = ["BEGIN", "write", "COMMIT"]
# A PATCH: BEGIN, the row locked and read (If-Match is checked against it), the write
# (references, columns, appearances replaced, event, representation), COMMIT.
PATCH = ["BEGIN", "lock", "write", "COMMIT"]


def _kind(query: str) -> str:
    text = " ".join(query.split())
    for marker in ("claim_idempotency_key", "INSERT INTO idempotency_keys"):
        if marker in text:
            return marker
    if text.startswith("WITH live_"):
        return "write"
    if text.endswith("FOR NO KEY UPDATE OF s") or text.endswith("FOR NO KEY UPDATE OF d"):
        return "lock"
    return text.rstrip(";").split(" ISOLATION")[0]


@pytest.fixture
async def one_connection_client(settings: Settings) -> AsyncIterator[AsyncTestClient[Any]]:
    """An admin client of an app whose pool has one connection, so that every query of
    a request goes through the connection the test listens to."""
    app = create_app(msgspec.structs.replace(settings, db_pool_max_size=1))
    async with AsyncTestClient(app=app) as client:
        client.headers.update(keys.bearer(keys.ADMIN))
        yield client


async def _queries(
    client: AsyncTestClient[Any],
    method: str,
    url: str,
    body: dict[str, Any],
    headers: dict[str, str],
    expected: int,
) -> list[str]:
    seen: list[str] = []

    def log(record: Any) -> None:
        # The rate limiter's once-a-second sync shares the pool; it is no part of a write.
        if "rate_limit_windows" not in record.query:
            seen.append(_kind(record.query))

    async with client.app.state.pool.acquire() as conn:
        conn.add_query_logger(log)
    try:
        response = await client.request(method, url, json=body, headers=headers)
        assert response.status_code == expected, response.text
        await asyncio.sleep(0.05)  # asyncpg calls query loggers soon after, not inline
    finally:
        async with client.app.state.pool.acquire() as conn:
            conn.remove_query_logger(log)
    return seen


async def _post(
    client: AsyncTestClient[Any], url: str, body: dict[str, Any], *, key: bool
) -> list[str]:
    """The queries of a POST, after one unobserved: asyncpg prepares each statement (and
    introspects its types) the first time a connection sends it, and keeps it; each
    later request is one round trip a query."""
    headers = {"Idempotency-Key": str(uuid.uuid4())} if key else {}
    assert (await client.post(url, json=body, headers=headers)).status_code == 201
    headers = {"Idempotency-Key": str(uuid.uuid4())} if key else {}
    return await _queries(client, "POST", url, body, headers, 201)


async def _patch(client: AsyncTestClient[Any], url: str, bodies: list[dict[str, Any]]) -> list[str]:
    """The queries of the last PATCH of `bodies` (the others prepare its statements)."""
    seen: list[str] = []
    for body in bodies:
        etag = (await client.get(url)).headers["etag"]
        seen = await _queries(client, "PATCH", url, body, {"If-Match": etag}, 200)
    return seen


async def test_post_statement_makes_five_round_trips_with_a_key_and_three_without(
    one_connection_client: AsyncTestClient[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    client = one_connection_client
    monkeypatch.setattr(idempotency, "PURGE_ONE_IN", 1 << 62)  # the occasional purge aside
    speaker = await create_person(client)
    outlet = await create_organization(client)
    body = {
        "speaker_id": speaker["id"],
        "text": "There has been no decision whatsoever to leave Iraq.",
        "appearances": [
            {"url": "https://example.org/a", "publisher_id": outlet["id"]},
            {"url": "https://example.org/b"},
        ],
    }
    assert await _post(client, "/v1/statements", body, key=True) == WITH_KEY
    assert await _post(client, "/v1/statements", body, key=False) == WITHOUT_KEY


async def test_post_document_makes_five_round_trips_with_a_key(
    one_connection_client: AsyncTestClient[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    client = one_connection_client
    monkeypatch.setattr(idempotency, "PURGE_ONE_IN", 1 << 62)
    author = await create_person(client)
    issuer = await create_organization(client)
    body = {
        "title": "A letter",
        "issuer_id": issuer["id"],
        "author_id": author["id"],
        "appearances": [{"url": "https://example.org/a", "publisher_id": issuer["id"]}],
    }
    assert await _post(client, "/v1/documents", body, key=True) == WITH_KEY


async def test_patch_makes_four_round_trips_whatever_it_changes(
    one_connection_client: AsyncTestClient[Any],
) -> None:
    client = one_connection_client
    speaker = await create_person(client)
    outlet = await create_organization(client)
    other = await create_person(client, name="Mark Milley")
    statement = (
        await client.post("/v1/statements", json={"speaker_id": speaker["id"], "text": "No."})
    ).json()
    url = f"/v1/statements/{statement['id']}"

    def appearing(n: int) -> dict[str, Any]:
        return {"appearances": [{"url": f"https://example.org/{n}", "publisher_id": outlet["id"]}]}

    assert await _patch(client, url, [{"text": "No decision."}, {"text": "None."}]) == PATCH
    assert await _patch(client, url, [appearing(1), appearing(2)]) == PATCH
    both = [
        {"speaker_id": other["id"], **appearing(3)},
        {"speaker_id": speaker["id"], **appearing(4)},
    ]
    assert await _patch(client, url, both) == PATCH

    document = (await client.post("/v1/documents", json={"title": "A letter"})).json()
    url = f"/v1/documents/{document['id']}"
    bodies = [
        {"author_id": speaker["id"], **appearing(5)},
        {"author_id": other["id"], **appearing(6)},
    ]
    assert await _patch(client, url, bodies) == PATCH
