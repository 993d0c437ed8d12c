"""Held answers sent before Litestar's pipeline (service/web/memory_answers.py): the
same bytes and headers as the pipeline's answer, only to callers who may see them,
counted by the rate limit, the metrics and the log, and never when in doubt."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest
from litestar.testing import AsyncTestClient

from service.app import create_app
from service.settings import Settings
from service.web.memory_answers import MemoryAnswers
from tests import keys
from tests.distribution.support import assess, caught_up, wait_listening
from tests.helpers import create_document, create_statement
from tests.ops.test_logs import lines_of
from tests.ops.test_metrics import scrape, value
from tests.web.test_limits_and_headers import frozen_clock

pytestmark = pytest.mark.asyncio

# Headers that differ between any two answers, held or not.
PER_REQUEST = {"x-request-id", "ratelimit-remaining", "ratelimit-reset"}


def answers(client: Any) -> MemoryAnswers:
    held: MemoryAnswers = client.app.state.memory_answers
    return held


def comparable(response: Any) -> dict[str, list[str]]:
    headers: dict[str, list[str]] = {}
    for name, header_value in response.headers.multi_items():
        if name.lower() not in PER_REQUEST:
            headers.setdefault(name.lower(), []).append(header_value)
    return headers


def clear_caches(client: Any) -> None:
    client.app.state.read_cache.clear()
    client.app.state.badge_cache.clear()


@pytest.fixture
async def subjects(anonymous_client: Any, client: Any, db: Any) -> dict[str, str]:
    """A published statement and document, the statement assessed, every app listening
    and caught up with the writes (so a warmed answer stays held)."""
    await wait_listening(anonymous_client, client)
    statement = await create_statement(client)
    document = await create_document(client)
    await assess(client, "statement", statement["id"], "false")
    await caught_up(db, anonymous_client)
    return {"statement": statement["id"], "document": document["id"]}


def urls(subjects: dict[str, str]) -> list[str]:
    statement, document = subjects["statement"], subjects["document"]
    return [
        f"/v1/statements/{statement}",
        f"/v1/documents/{document}",
        f"/v1/statements/{statement}/record",
        f"/v1/documents/{document}/record",
        f"/v1/badges/statements/{statement}.svg",
        f"/v1/badges/documents/{document}.json",
    ]


async def test_held_and_read_answers_have_the_pipelines_bytes_and_headers(
    app_client, client, db, subjects
):
    fast = await app_client()
    plain = await app_client(memory_answers=False)
    await caught_up(db, fast, plain)
    held = answers(fast)
    for url in urls(subjects):
        badge = url.startswith("/v1/badges/")
        through_pipeline = await plain.get(url)
        assert through_pipeline.status_code == 200, (url, through_pipeline.text)
        before = held.answered
        # A miss: read before the pipeline for the read cache, through it for a badge.
        first = await fast.get(url)
        assert held.answered == before + (0 if badge else 1), url
        from_memory = await fast.get(url)
        assert held.answered == before + (1 if badge else 2), url
        for response in (first, from_memory):
            assert response.status_code == 200
            assert response.content == through_pipeline.content, url
            assert comparable(response) == comparable(through_pipeline), url
        assert from_memory.headers["x-request-id"] != first.headers["x-request-id"]
        assert int(from_memory.headers["ratelimit-remaining"]) == (
            int(first.headers["ratelimit-remaining"]) - 1
        )

        # 304 alike, through the pipeline and from memory.
        etag = {"If-None-Match": through_pipeline.headers["etag"]}
        revalidated = await plain.get(url, headers=etag)
        assert revalidated.status_code == 304
        answered = held.answered
        revalidated_from_memory = await fast.get(url, headers=etag)
        assert held.answered == answered + 1, url
        assert revalidated_from_memory.status_code == 304
        assert revalidated_from_memory.content == b""
        assert comparable(revalidated_from_memory) == comparable(revalidated), url
        # A weak or listed tag matches as in the pipeline; another tag gets the bytes.
        listed = {"If-None-Match": f'"other", W/{through_pipeline.headers["etag"]}'}
        assert (await fast.get(url, headers=listed)).status_code == 304
        other = await fast.get(url, headers={"If-None-Match": '"other"'})
        assert other.status_code == 200 and other.content == through_pipeline.content
        assert held.answered == answered + 3, url
        if not badge:
            # A miss read before the pipeline answers 304 too.
            clear_caches(fast)
            assert (await fast.get(url, headers=etag)).status_code == 304
            assert held.answered == answered + 4, url


async def test_what_the_public_may_not_see_is_the_pipelines_404_counted_once(
    app_client, client, db
):
    limited = await app_client(rate_limit_anonymous=3)
    limited.app.state.rate_limiter.clock = frozen_clock()  # all in one window
    hidden = await create_statement(client, visibility="internal")
    await caught_up(db, limited)
    for url, remaining in (
        (f"/v1/statements/{hidden['id']}", "2"),
        (f"/v1/statements/{hidden['id']}/record", "1"),
        ("/v1/statements/00000000-0000-4000-8000-000000000000", "0"),
    ):
        missing = await limited.get(url)
        assert missing.status_code == 404, url
        assert missing.headers["content-type"] == "application/problem+json"
        assert missing.headers["ratelimit-remaining"] == remaining, url
    assert answers(limited).answered == 0
    assert f"/v1/statements/{hidden['id']}" not in limited.app.state.read_cache
    assert (await limited.get(f"/v1/statements/{hidden['id']}")).status_code == 429


async def test_read_keys_get_held_answers_writers_only_badges(anonymous_client, subjects):
    held = answers(anonymous_client)
    record, badge = urls(subjects)[2], urls(subjects)[4]
    for url in (record, badge):
        assert (await anonymous_client.get(url)).status_code == 200
    # A read key the key cache knows (its first request went through the pipeline).
    await anonymous_client.get(record, headers=keys.bearer(keys.READ))
    before = held.answered
    read = await anonymous_client.get(record, headers=keys.bearer(keys.READ))
    assert read.status_code == 200 and held.answered == before + 1
    assert read.headers["cache-control"] == "private"  # as the pipeline says for a key
    # The newsroom reads its own writes: never the read cache, but badges are the same
    # for every caller.
    for secret in (keys.WRITE, keys.ADMIN):
        await anonymous_client.get(record, headers=keys.bearer(secret))
        before = held.answered
        assert (await anonymous_client.get(record, headers=keys.bearer(secret))).status_code == 200
        assert held.answered == before, secret
        assert (await anonymous_client.get(badge, headers=keys.bearer(secret))).status_code == 200
        assert held.answered == before + 1, secret
    # A revoked, unknown or malformed key is the pipeline's 401, held answer or not.
    before = held.answered
    for header in (
        keys.bearer(keys.REVOKED),
        keys.bearer("vr_unknown"),
        {"Authorization": "Basic dXNlcjpwdw=="},
    ):
        for _ in range(2):
            refused = await anonymous_client.get(record, headers=header)
            assert refused.status_code == 401, header
    assert held.answered == before


async def test_anything_unusual_goes_through_the_pipeline(anonymous_client, subjects):
    held = answers(anonymous_client)
    url = urls(subjects)[0]
    await anonymous_client.get(url)
    before = held.answered
    assert (await anonymous_client.get(url, params={"unused": "1"})).status_code == 200
    assert held.answered == before, "query"
    assert (await anonymous_client.head(url)).status_code in (200, 405)
    assert held.answered == before, "head"
    assert (await anonymous_client.request("GET", url, content=b"{}")).status_code < 500
    assert held.answered == before, "body"
    refused_host = await anonymous_client.get(url, headers={"Host": "bad host"})
    assert refused_host.status_code == 400 and held.answered == before, "host"
    assert (await anonymous_client.get(url)).status_code == 200
    assert held.answered == before + 1


@pytest.fixture
async def app_client(settings: Settings) -> AsyncIterator[Any]:
    """A client of an app made by the test from changed settings."""
    clients: list[AsyncTestClient] = []  # type: ignore[type-arg]

    async def make(**changes: Any) -> Any:
        client = AsyncTestClient(app=create_app(msgspec.structs.replace(settings, **changes)))
        await client.__aenter__()
        clients.append(client)
        await wait_listening(client)
        return client

    yield make
    for client in clients:
        await client.__aexit__(None, None, None)


async def test_the_rate_limit_counts_held_answers_and_refuses_as_the_pipeline(
    app_client, client, db
):
    limited = await app_client(rate_limit_anonymous=3)
    limited.app.state.rate_limiter.clock = frozen_clock()  # all in one window
    statement = await create_statement(client)
    await caught_up(db, limited)
    url = f"/v1/statements/{statement['id']}"
    remaining = [(await limited.get(url)).headers["ratelimit-remaining"] for _ in range(3)]
    assert remaining == ["2", "1", "0"]
    assert answers(limited).answered == 3  # the miss too
    refused = await limited.get(url)
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert int(refused.headers["retry-after"]) >= 1
    assert answers(limited).answered == 3


async def test_with_public_read_off_the_anonymous_get_401(app_client, client, db):
    private = await app_client(public_read=False)
    statement = await create_statement(client)
    await caught_up(db, private)
    url = f"/v1/statements/{statement['id']}"
    for _ in range(2):
        assert (await private.get(url, headers=keys.bearer(keys.READ))).status_code == 200
    assert answers(private).answered == 1
    assert (await private.get(url)).status_code == 401
    assert answers(private).answered == 1


async def test_a_cross_origin_read_gets_its_cors_headers(app_client, client, db):
    front_end = "https://front.example"
    cors = await app_client(cors_allow_origins=(front_end,))
    statement = await create_statement(client)
    await caught_up(db, cors)
    url = f"/v1/statements/{statement['id']}"
    for _ in range(2):
        response = await cors.get(url, headers={"Origin": front_end})
        assert response.headers["access-control-allow-origin"] == front_end
    assert answers(cors).answered == 0
    await cors.get(url)
    assert answers(cors).answered == 1


async def test_held_answers_are_counted_and_logged(anonymous_client, subjects, captured):
    url = f"/v1/statements/{subjects['statement']}"
    route = {"method": "GET", "route": "/v1/statements/{id:uuid}"}
    await anonymous_client.get(url)
    counted = value(await scrape(anonymous_client), "vr_http_requests_total", **route, status="200")
    before = answers(anonymous_client).answered
    await anonymous_client.get(url, headers={"X-Request-ID": "held-1"})
    assert answers(anonymous_client).answered == before + 1
    samples = await scrape(anonymous_client)
    assert value(samples, "vr_http_requests_total", **route, status="200") == (counted or 0) + 1
    held = [line for line in lines_of(captured) if line.get("request_id") == "held-1"]
    assert len(held) == 1
    assert held[0]["route"] == "/v1/statements/{id:uuid}" and held[0]["status"] == 200
    assert held[0]["path"] == url and held[0]["caller"] is None


async def test_memory_answers_off_sends_every_hit_through_the_pipeline(app_client, client, db):
    assert Settings.from_env({"DATABASE_URL": "postgresql://db/vr"}).memory_answers
    off = Settings.from_env({"DATABASE_URL": "postgresql://db/vr", "MEMORY_ANSWERS": "false"})
    assert not off.memory_answers
    plain = await app_client(memory_answers=False)
    assert "memory_answers" not in plain.app.state
    statement = await create_statement(client)
    await caught_up(db, plain)
    url = f"/v1/statements/{statement['id']}"
    cache = plain.app.state.read_cache
    first = await plain.get(url)
    hits = cache.hits
    second = await plain.get(url)
    # Still the read cache, through the handler.
    assert cache.hits == hits + 1 and second.content == first.content
