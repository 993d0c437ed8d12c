"""The public's pages of a speaker's statements (`GET /v1/statements?speaker_id=`), held
by the read cache and answered from memory (service/web/read_cache.py, `cached_page`):
the same bytes as the database's, and every change that can move a page reaches the
public within a second (migration 0019 announces the speakers)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest
from litestar.testing import AsyncTestClient

from service.app import create_app
from service.settings import Settings
from tests import keys
from tests.distribution.support import caught_up, wait_listening
from tests.helpers import create_person, create_statement, delete, patch
from tests.web.test_memory_answers import answers, comparable

pytestmark = pytest.mark.asyncio


@pytest.fixture
async def apps(settings: Settings) -> AsyncIterator[tuple[Any, Any]]:
    """The public's app, and one that reads the database every time (the truth)."""
    fast_app = create_app(settings)
    truth_app = create_app(
        msgspec.structs.replace(settings, memory_answers=False, read_cache_max_bytes=0)
    )
    async with AsyncTestClient(app=fast_app) as fast, AsyncTestClient(app=truth_app) as truth:
        await wait_listening(fast, truth)
        yield fast, truth


async def same_as_the_database(fast: Any, truth: Any, url: str, seconds: float = 1.0) -> None:
    started = time.monotonic()
    while True:
        seen, expected = await fast.get(url), await truth.get(url)
        assert seen.status_code == expected.status_code == 200, seen.text
        if seen.json() == expected.json():
            return
        assert time.monotonic() - started < seconds, (url, seen.json(), expected.json())
        await asyncio.sleep(0.01)


async def test_a_speakers_page_is_held_with_the_pipelines_bytes(apps, client, db):
    fast, truth = apps
    speaker = await create_person(client)
    for number in range(3):
        await create_statement(client, speaker_id=speaker["id"], text=f"Statement {number}.")
    await create_statement(client, speaker_id=speaker["id"], visibility="internal")
    await caught_up(db, fast)
    url = f"/v1/statements?speaker_id={speaker['id']}&limit=2"
    held = answers(fast)
    expected = await truth.get(url)
    first = await fast.get(url)
    before = held.answered
    second = await fast.get(url)
    assert held.answered == before + 1
    for response in (first, second):
        assert response.content == expected.content
        assert comparable(response) == comparable(expected)
        assert "etag" not in response.headers  # a list has none, held or not
    assert len(second.json()["items"]) == 2 and second.json()["next_cursor"]
    # The newsroom reads the database, internal statements included.
    newsroom = await fast.get(url.replace("limit=2", "limit=10"), headers=keys.bearer(keys.WRITE))
    assert len(newsroom.json()["items"]) == 4 and held.answered == before + 1
    # Another filter beside the speaker is never held.
    filtered = f"{url}&q=statement"
    for _ in range(2):
        assert (await fast.get(filtered)).status_code == 200
    assert held.answered == before + 1


async def test_every_change_that_moves_a_speakers_pages_reaches_the_public(apps, client, db):
    fast, truth = apps
    speaker, other = await create_person(client), await create_person(client, name="Other")
    statements = [
        await create_statement(client, speaker_id=speaker["id"], text=f"Statement {n}.")
        for n in range(3)
    ]
    hidden = await create_statement(client, speaker_id=speaker["id"], visibility="internal")
    await caught_up(db, fast)
    first_page = f"/v1/statements?speaker_id={speaker['id']}&limit=2"
    cursor = (await truth.get(first_page)).json()["next_cursor"]
    second_page = f"{first_page}&cursor={cursor}"
    others = f"/v1/statements?speaker_id={other['id']}"
    pages = (first_page, second_page, others)
    for url in pages:  # held from here on
        await fast.get(url)
        assert url in fast.app.state.read_cache
    assert (await fast.get(others)).json()["items"] == []

    async def check() -> None:
        for url in pages:
            await same_as_the_database(fast, truth, url)

    # A new statement of each speaker (the other's page was empty: nothing on it names him).
    await create_statement(client, speaker_id=speaker["id"], text="Newest.")
    await create_statement(client, speaker_id=other["id"], text="His first.")
    await check()
    # An internal statement made public joins the pages.
    assert (
        await patch(client, f"/v1/statements/{hidden['id']}", {"visibility": "public"})
    ).status_code == 200
    await check()
    # One moved to the other speaker leaves every page after it and joins his.
    moved = f"/v1/statements/{statements[2]['id']}"
    assert (await patch(client, moved, {"speaker_id": other["id"]})).status_code == 200
    await check()
    # One deleted: the pages after it shift.
    await delete(client, f"/v1/statements/{statements[1]['id']}")
    await check()
    assert answers(fast).answered > 0


async def test_a_speaker_change_announces_the_speaker_left(db):
    """Migration 0019: the event names only the new speaker; the row trigger the old."""
    person = await db.fetchval("INSERT INTO people (name) VALUES ('A') RETURNING id")
    other = await db.fetchval("INSERT INTO people (name) VALUES ('B') RETURNING id")
    statement = await db.fetchval(
        "INSERT INTO statements (speaker_id, text) VALUES ($1, 'Said.') RETURNING id", person
    )
    heard: list[str] = []

    def hear(*args: Any) -> None:
        heard.append(args[3])

    await db.add_listener("verification_record", hear)
    try:
        await db.execute("UPDATE statements SET speaker_id = $1 WHERE id = $2", other, statement)
        await db.execute("UPDATE statements SET text = 'Said again.' WHERE id = $1", statement)
        for _ in range(100):
            if heard:
                break
            await asyncio.sleep(0.01)
    finally:
        await db.remove_listener("verification_record", hear)
    messages = [msgspec.json.decode(message) for message in heard]
    assert {"kind": "reads", "ids": str(person)} in messages
    assert len(messages) == 1  # an update that keeps the speaker says nothing here
