"""A write costs a handful of round trips to PostgreSQL, however many rows it touches:
the count of POST /v1/statements and POST /v1/documents is pinned here, so that a
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
# lookup, migration 0015), the create (references, row, appearances, event, outbox by
# trigger, representation), the key's record, COMMIT. Each query is one round trip once
# the connection has prepared it.
WITH_KEY = ["BEGIN", "claim_idempotency_key", "create", "INSERT INTO idempotency_keys", "COMMIT"]
WITHOUT_KEY = ["BEGIN", "create", "COMMIT"]


def _kind(query: str) -> str:
    text = " ".join(query.split())
    for marker in ("claim_idempotency_key", "INSERT INTO idempotency_keys"):
        if marker in text:
            return marker
    if text.startswith("WITH live_"):
        return "create"
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
    client: AsyncTestClient[Any], url: str, body: dict[str, Any], **headers: str
) -> list[str]:
    seen: list[str] = []

    def log(record: Any) -> None:
        # The rate limiter's once-a-second sync shares the pool; it is no part of a write.
        if "rate_limit_windows" not in record.query:
            seen.append(_kind(record.query))

    # Once unobserved: asyncpg prepares each statement (and introspects its types) the
    # first time a connection sends it, and keeps it; every later request is measured.
    warm_up = {k: str(uuid.uuid4()) if k == "Idempotency-Key" else v for k, v in headers.items()}
    assert (await client.post(url, json=body, headers=warm_up)).status_code == 201
    async with client.app.state.pool.acquire() as conn:
        conn.add_query_logger(log)
    try:
        response = await client.post(url, json=body, headers=headers)
        assert response.status_code == 201, response.text
        await asyncio.sleep(0.05)  # asyncpg calls query loggers soon after, not inline
    finally:
        async with client.app.state.pool.acquire() as conn:
            conn.remove_query_logger(log)
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
    assert (
        await _queries(client, "/v1/statements", body, **{"Idempotency-Key": str(uuid.uuid4())})
        == WITH_KEY
    )
    assert await _queries(client, "/v1/statements", body) == WITHOUT_KEY


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
    assert (
        await _queries(client, "/v1/documents", body, **{"Idempotency-Key": str(uuid.uuid4())})
        == WITH_KEY
    )
