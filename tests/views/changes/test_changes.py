"""The change feed: every event in commit order, paged by an opaque cursor that is
always given back, what a `read` key may see, and the race it exists to win: events of
concurrent writers that commit out of order are never skipped."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import asyncpg
import pytest

from service.domain.organizations.schemas import OrganizationCreate
from service.domain.organizations.service import organization_service
from tests import keys
from tests.helpers import (
    assert_problem,
    concurrent_client,
    create_document,
    create_organization,
    create_statement,
    delete,
    patch,
)

# The feed lists nothing newer than the oldest transaction in progress on the server:
# no test database may be created or dropped meanwhile (tests/conftest.py).
pytestmark = [pytest.mark.asyncio, pytest.mark.quiet_server]

URL = "/v1/changes"
ITEM_KEYS = {"id", "type", "resource_id", "action", "version", "at"}


async def page(
    client: Any, cursor: str | None = None, headers: Any = None, **params: Any
) -> dict[str, Any]:
    query = {**params, **({"cursor": cursor} if cursor else {})}
    response = await client.get(URL, params=query, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"items", "next_cursor"}
    assert isinstance(body["next_cursor"], str) and body["next_cursor"], body
    return body


async def follow(
    client: Any, cursor: str | None = None, headers: Any = None, **params: Any
) -> tuple[list[Any], str]:
    """Every item from `cursor` until a short page; returns the items and the cursor."""
    items: list[Any] = []
    limit = params.setdefault("limit", 100)
    for _ in range(1000):
        body = await page(client, cursor, headers, **params)
        items += body["items"]
        cursor = body["next_cursor"]
        if len(body["items"]) < limit:
            assert cursor is not None
            return items, cursor
    raise AssertionError("the feed never caught up")


def summary(items: list[dict[str, Any]]) -> list[tuple[str, str, str, int]]:
    return [(i["type"], i["resource_id"], i["action"], i["version"]) for i in items]


async def create_assessment(
    client: Any, about: dict[str, Any], about_type: str = "statement", **fields: Any
) -> Any:
    body = {
        "subject": {"type": about_type, "id": about["id"]},
        "verdict": "mostly_false",
        "headline": "Mostly false",
        **fields,
    }
    response = await client.post("/v1/assessments", json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def publish(client: Any, assessment: dict[str, Any]) -> None:
    response = await client.post(f"/v1/assessments/{assessment['id']}/publish")
    assert response.status_code == 200, response.text


# ---- what the feed lists -------------------------------------------------------------------


@pytest.mark.also_behind_pgbouncer
async def test_feed_lists_every_change_in_commit_order_with_versions(client, db):
    outlet = await create_organization(client, name="Reuters")
    updated = await patch(client, f"/v1/organizations/{outlet['id']}", {"kind": "news_outlet"})
    assert updated.status_code == 200, updated.text
    statement = await create_statement(client)
    assessment = await create_assessment(client, statement)
    await publish(client, assessment)
    await delete(client, f"/v1/organizations/{outlet['id']}")

    items, _ = await follow(client)
    assert all(set(item) == ITEM_KEYS for item in items)
    assert summary(items) == [
        ("organization", outlet["id"], "created", 1),
        ("organization", outlet["id"], "updated", 2),
        ("person", statement["speaker_id"], "created", 1),
        ("statement", statement["id"], "created", 1),
        ("assessment", assessment["id"], "created", 1),
        ("assessment", assessment["id"], "published", 2),
        ("organization", outlet["id"], "deleted", 3),
    ]
    in_commit_order = await db.fetch("SELECT id, at FROM events ORDER BY xact_id, id")
    assert [i["id"] for i in items] == [row["id"] for row in in_commit_order]
    assert items[0]["at"].replace("Z", "+00:00") == in_commit_order[0]["at"].isoformat()


async def test_paging_with_limit_lists_each_event_once(client):
    created = [(await create_organization(client, name=f"Outlet {n}"))["id"] for n in range(7)]
    seen: list[str] = []
    cursor = None
    sizes = []
    for _ in range(5):
        body = await page(client, cursor, limit=3)
        sizes.append(len(body["items"]))
        seen += [item["resource_id"] for item in body["items"]]
        cursor = body["next_cursor"]
    assert sizes == [3, 3, 1, 0, 0]
    assert seen == created
    assert (await client.get(URL, params={"limit": 101})).status_code == 422
    assert (await client.get(URL, params={"limit": 0})).status_code == 422


async def test_an_empty_page_keeps_the_position(client):
    # Nothing happened yet: an empty first page still hands out a cursor.
    first = await page(client)
    assert first["items"] == []
    again = await page(client, first["next_cursor"])
    assert again["items"] == []

    outlet = await create_organization(client)
    body = await page(client, again["next_cursor"])
    assert summary(body["items"]) == [("organization", outlet["id"], "created", 1)]

    # Caught up: asking again lists nothing and keeps the position...
    idle = await page(client, body["next_cursor"])
    assert idle["items"] == []
    idle_again = await page(client, idle["next_cursor"])
    assert idle_again["items"] == [] and idle_again["next_cursor"] == idle["next_cursor"]
    # ...from which the next change is listed, and only it.
    person = (await client.post("/v1/people", json={"name": "Mark Esper"})).json()
    after = await page(client, idle_again["next_cursor"])
    assert summary(after["items"]) == [("person", person["id"], "created", 1)]


async def test_types_filter(client):
    outlet = await create_organization(client)
    statement = await create_statement(client)
    items, cursor = await follow(client, types="statement, organization")
    assert summary(items) == [
        ("organization", outlet["id"], "created", 1),
        ("statement", statement["id"], "created", 1),
    ]
    later = await create_statement(client, speaker_id=statement["speaker_id"])
    items, _ = await follow(client, cursor, types="statement")
    assert summary(items) == [("statement", later["id"], "created", 1)]
    assert_problem(await client.get(URL, params={"types": "statement,tweet"}), 422, field="types")


# ---- who sees what ---------------------------------------------------------------------------


@pytest.mark.also_behind_pgbouncer
async def test_read_keys_see_changes_to_published_resources_only(client, anonymous_client):
    partner = anonymous_client
    partner.headers.update(keys.bearer(keys.READ))
    start = (await page(partner))["next_cursor"]

    statement = await create_statement(client, text="A public quote")
    leak = await create_document(client, title="Internal leak", visibility="internal")
    await patch(client, f"/v1/documents/{leak['id']}", {"summary": "still internal"})
    internal_quote = await create_statement(
        client, speaker_id=statement["speaker_id"], visibility="internal"
    )
    published = await create_assessment(client, statement)
    await publish(client, published)
    draft = await create_assessment(client, statement, supersedes_id=published["id"])
    on_leak = await create_assessment(client, leak, "document", verdict="fabricated")
    to_leak = await relate(client, statement, "document", leak)
    letter = await create_document(client, title="A public letter")
    to_letter = await relate(client, statement, "document", letter)
    # Deleting the letter deletes its relation too: both deletions reach partners.
    await delete(client, f"/v1/documents/{letter['id']}")

    newsroom, _ = await follow(client)
    seen, _ = await follow(partner, start)
    assert summary(seen) == [
        ("person", statement["speaker_id"], "created", 1),
        ("statement", statement["id"], "created", 1),
        ("assessment", published["id"], "created", 1),
        ("assessment", published["id"], "published", 2),
        ("document", letter["id"], "created", 1),
        ("relation", to_letter["id"], "created", 1),
        ("document", letter["id"], "deleted", 2),
        ("relation", to_letter["id"], "deleted", 2),
    ]
    hidden = {leak["id"], internal_quote["id"], draft["id"], on_leak["id"], to_leak["id"]}
    assert hidden <= {item["resource_id"] for item in newsroom}
    for caller in (keys.WRITE, keys.ADMIN):
        items, _ = await follow(partner, headers=keys.bearer(caller))
        assert items == newsroom

    # Caught up past events it may not see, the partner's cursor has moved beyond them:
    # its next page starts with the next public change.
    _, cursor = await follow(partner, start)
    await create_document(client, title="Another secret", visibility="internal")
    hidden_only, cursor = await follow(partner, cursor)
    assert hidden_only == []
    outlet = await create_organization(client)
    next_public = await page(partner, cursor)
    assert summary(next_public["items"]) == [("organization", outlet["id"], "created", 1)]
    cursor = next_public["next_cursor"]

    # Publishing the draft makes it public: its events now show (a partner past them
    # learns of it through the `published` event).
    await publish(client, draft)
    items, _ = await follow(partner, cursor)
    assert summary(items) == [
        ("assessment", draft["id"], "published", 2),
        ("assessment", published["id"], "superseded", 3),
    ]


async def relate(client: Any, source: dict[str, Any], target_type: str, target: Any) -> Any:
    response = await client.post(
        "/v1/relations",
        json={
            "source": {"type": "statement", "id": source["id"]},
            "type": "denies",
            "target": {"type": target_type, "id": target["id"]},
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


async def test_the_feed_needs_a_key(anonymous_client):
    problem = assert_problem(await anonymous_client.get(URL), 401)
    assert "read" in problem["detail"]
    assert (await anonymous_client.get(URL, headers=keys.bearer(keys.READ))).status_code == 200


async def test_a_cursor_it_did_not_issue_is_422(client):
    list_cursor = (await client.get("/v1/organizations", params={"limit": 1})).json()
    await create_organization(client)
    await create_organization(client)
    other = (await client.get("/v1/organizations", params={"limit": 1})).json()["next_cursor"]
    assert list_cursor is not None and other is not None
    for cursor in ("not-a-cursor", "!!!", other, "WzEsMiwzXQ", "Wy0xLDFd", "WyJ4IiwxXQ"):
        # a list cursor, [1,2,3], [-1,1] and ["x",1]: well-formed, but not feed positions
        assert_problem(await client.get(URL, params={"cursor": cursor}), 422, field="cursor")


# ---- the race: concurrent writers committing out of order --------------------------------------


WRITERS = 8
TRANSACTIONS_PER_WRITER = 25


@pytest.mark.also_behind_pgbouncer
async def test_a_reader_following_next_cursor_never_misses_a_concurrent_write(
    settings, database_url, db
):
    """Writers commit in another order than they took their event ids (some hold their
    transaction open a few milliseconds, one straggler much longer); a reader follows
    `next_cursor` all along. It must list every committed event exactly once, in commit
    order. Reading by id, or by (xact_id, id) without the horizon, loses the straggler's
    event every time: the reader moves past it while it is still uncommitted."""
    rng = random.Random(20261123)
    committed_by_others = 0
    straggler_started = asyncio.Event()
    half_done = asyncio.Event()
    polls_after_half = 0
    reader_went_past = asyncio.Event()
    writers_done = asyncio.Event()

    async def connect() -> asyncpg.Connection:
        return await asyncpg.connect(database_url, server_settings={"timezone": "UTC"})

    async def straggler() -> None:
        conn = await connect()
        try:
            async with conn.transaction():
                await organization_service.create(
                    conn, OrganizationCreate(name="Straggler"), "straggler"
                )
                # The event exists, with the oldest xact_id; later writers overtake it.
                straggler_started.set()
                # Commit only once the reader has polled a few times since half the
                # others committed: without the horizon it has moved past this event.
                await reader_went_past.wait()
        finally:
            await conn.close()

    async def writer(n: int) -> None:
        nonlocal committed_by_others
        await straggler_started.wait()
        conn = await connect()
        try:
            for t in range(TRANSACTIONS_PER_WRITER):
                hold = rng.random() < 0.5
                delay = rng.uniform(0.001, 0.015)
                async with conn.transaction():
                    await organization_service.create(
                        conn, OrganizationCreate(name=f"Writer {n} #{t}"), f"writer-{n}"
                    )
                    if hold:  # commit after writers that started later
                        await asyncio.sleep(delay)
                committed_by_others += 1
                if committed_by_others >= WRITERS * TRANSACTIONS_PER_WRITER // 2:
                    half_done.set()
                await asyncio.sleep(0)
        finally:
            await conn.close()

    async def reader(http: Any) -> list[int]:
        nonlocal polls_after_half
        seen: list[int] = []
        cursor = None
        for _ in range(20_000):
            finished = writers_done.is_set()
            body = await page(http, cursor, limit=7)
            seen += [item["id"] for item in body["items"]]
            cursor = body["next_cursor"]
            if half_done.is_set():
                polls_after_half += 1
                if polls_after_half >= 3:
                    reader_went_past.set()
            if not body["items"]:
                if finished:  # every write had committed before this empty page began
                    return seen
                await asyncio.sleep(0.002)
        raise AssertionError("the reader never caught up")

    async def write_all() -> None:
        await asyncio.gather(straggler(), *(writer(n) for n in range(WRITERS)))
        writers_done.set()

    async with concurrent_client(settings) as http:
        seen, _ = await asyncio.wait_for(asyncio.gather(reader(http), write_all()), 60)

    committed = [row["id"] for row in await db.fetch("SELECT id FROM events ORDER BY xact_id, id")]
    assert len(committed) == WRITERS * TRANSACTIONS_PER_WRITER + 1
    assert len(seen) == len(set(seen)), "an event was listed twice"
    missed = set(committed) - set(seen)
    assert not missed, f"{len(missed)} committed events were never listed"
    assert seen == committed, "not in commit order"
    # The straggler began first but committed late: commit order is not id order.
    assert seen != sorted(seen)
