"""`Idempotency-Key` on POST: a replay returns the first response and changes nothing; a
different request with the same key is 422; a duplicate while the first is in flight is
409; keys are per caller and expire after 24 hours; failures are not recorded."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import asyncpg
import pytest
from litestar import Litestar, post
from litestar.di import NamedDependency, Provide
from litestar.exceptions import ImproperlyConfiguredException

from service.commands.openapi import render_schema
from service.web import idempotency
from tests import keys
from tests.domain.assessments import create_assessment, create_subject
from tests.helpers import (
    BASE_URL,
    MISSING_ID,
    PROBLEM,
    assert_problem,
    concurrent_client,
    create_person,
    snapshot,
)

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
ORGANIZATION = {"name": "Reuters", "kind": "news_outlet"}


def new_key() -> str:
    return str(uuid.uuid4())


async def key_id(db: asyncpg.Connection, name: str = "test-admin") -> str:
    """The caller scope of a test key: its id, as text."""
    return str(await db.fetchval("SELECT id FROM api_keys WHERE name = $1", name))


async def count(db: asyncpg.Connection, table: str) -> int:
    n: int = await db.fetchval(f"SELECT count(*) FROM {table}")
    return n


async def wait_for_advisory_lock(db: asyncpg.Connection) -> None:
    """Wait until some request holds an advisory lock (only the idempotency claim takes
    one here); fail after a few seconds rather than hang."""
    for _ in range(1000):
        if await db.fetchval("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"):
            return
        await asyncio.sleep(0.005)
    raise AssertionError("the first request never claimed its key")


# ---- replay ---------------------------------------------------------------------------------


@pytest.mark.also_behind_pgbouncer
async def test_a_repeat_replays_the_first_response_and_creates_nothing(client, db):
    key = new_key()
    first = await client.post("/v1/organizations", json=ORGANIZATION, headers={HEADER: key})
    assert first.status_code == 201, first.text
    assert REPLAYED not in first.headers
    assert (await count(db, "organizations"), await count(db, "events")) == (1, 1)

    again = await client.post("/v1/organizations", json=ORGANIZATION, headers={HEADER: key})
    assert again.status_code == 201, again.text
    assert again.headers[REPLAYED] == "true"
    assert again.content == first.content
    for header in ("location", "etag", "content-type"):
        assert again.headers[header] == first.headers[header], header
    assert first.headers["location"] == f"{BASE_URL}/v1/organizations/{first.json()['id']}"
    assert (await count(db, "organizations"), await count(db, "events")) == (1, 1)


async def test_the_replay_is_the_first_response_even_after_the_resource_changed(client, db):
    key = new_key()
    first = await client.post("/v1/organizations", json=ORGANIZATION, headers={HEADER: key})
    url = first.headers["location"].removeprefix(BASE_URL)
    patched = await client.patch(
        url, json={"name": "Reuters News"}, headers={"If-Match": first.headers["etag"]}
    )
    assert patched.status_code == 200, patched.text

    again = await client.post("/v1/organizations", json=ORGANIZATION, headers={HEADER: key})
    assert again.headers[REPLAYED] == "true"
    assert again.json() == first.json()
    assert again.json()["version"] == 1


async def test_the_same_key_with_a_different_body_is_422_and_changes_nothing(client, db):
    key = new_key()
    first = await client.post("/v1/organizations", json=ORGANIZATION, headers={HEADER: key})
    assert first.status_code == 201, first.text
    before = await snapshot(db)
    record = await db.fetchrow("SELECT * FROM idempotency_keys")

    for url, body in (
        ("/v1/organizations", {**ORGANIZATION, "name": "Associated Press"}),
        # The same bytes to another path are another request too.
        ("/v1/people", {"name": "Reuters"}),
    ):
        response = await client.post(url, json=body, headers={HEADER: key})
        problem = assert_problem(response, 422, field=HEADER)
        assert "different request" in problem["detail"]
        assert REPLAYED not in response.headers
    assert await snapshot(db) == before
    assert await db.fetchrow("SELECT * FROM idempotency_keys") == record


async def test_the_fingerprint_is_the_raw_body_bytes(client, db):
    """The same JSON spelt differently is a different request: a client must resend the
    bytes it sent, which is what a retry does."""
    key = new_key()
    first = await client.post(
        "/v1/organizations",
        content=b'{"name": "Reuters"}',
        headers={HEADER: key, "Content-Type": "application/json"},
    )
    assert first.status_code == 201, first.text
    reformatted = await client.post(
        "/v1/organizations",
        content=b'{"name":"Reuters"}',
        headers={HEADER: key, "Content-Type": "application/json"},
    )
    assert_problem(reformatted, 422, field=HEADER)
    assert await count(db, "organizations") == 1


async def test_keys_are_scoped_to_the_caller(client, db):
    key = new_key()
    as_admin = await client.post("/v1/organizations", json=ORGANIZATION, headers={HEADER: key})
    as_editor = await client.post(
        "/v1/organizations",
        json=ORGANIZATION,
        headers={HEADER: key, **keys.bearer(keys.WRITE)},
    )
    assert as_admin.status_code == as_editor.status_code == 201, as_editor.text
    assert REPLAYED not in as_editor.headers
    assert as_admin.json()["id"] != as_editor.json()["id"]
    assert await count(db, "organizations") == 2
    callers = {r["caller"] for r in await db.fetch("SELECT caller FROM idempotency_keys")}
    assert callers == {await key_id(db, "test-admin"), await key_id(db, "test-editor")}

    # Each caller's repeat replays its own first response.
    again = await client.post(
        "/v1/organizations",
        json=ORGANIZATION,
        headers={HEADER: key, **keys.bearer(keys.WRITE)},
    )
    assert again.headers[REPLAYED] == "true"
    assert again.json()["id"] == as_editor.json()["id"]


async def test_without_a_key_every_post_is_processed(client, db):
    for _ in range(2):
        response = await client.post("/v1/organizations", json=ORGANIZATION)
        assert response.status_code == 201, response.text
        assert REPLAYED not in response.headers
    assert await count(db, "organizations") == 2
    assert await count(db, "idempotency_keys") == 0


# ---- concurrency ----------------------------------------------------------------------------


@pytest.mark.also_behind_pgbouncer
async def test_100_concurrent_identical_requests_create_exactly_one_resource(settings, db):
    key = new_key()
    async with concurrent_client(settings) as http:
        responses = await asyncio.gather(
            *(
                http.post("/v1/organizations", json=ORGANIZATION, headers={HEADER: key})
                for _ in range(100)
            )
        )
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {201, 409}, [
        r.text for r in responses if r.status_code not in (201, 409)
    ]
    created = [r for r in responses if r.status_code == 201]
    assert created, statuses
    originals = [r for r in created if REPLAYED not in r.headers]
    assert len(originals) == 1, statuses
    assert {r.content for r in created} == {originals[0].content}
    for conflict in (r for r in responses if r.status_code == 409):
        assert conflict.headers["content-type"].startswith(PROBLEM)
        assert conflict.headers["retry-after"] == "1"
    assert await count(db, "organizations") == 1
    assert await count(db, "events") == 1
    assert await count(db, "idempotency_keys") == 1


async def test_a_duplicate_while_the_key_is_held_is_409_at_once(client, db):
    key = new_key()
    async with db.transaction():
        # What the first request's transaction holds while it works.
        await db.execute(
            "SELECT pg_advisory_xact_lock($1)", idempotency.lock_id(await key_id(db), key)
        )
        before = await snapshot(db)
        response = await client.post("/v1/organizations", json=ORGANIZATION, headers={HEADER: key})
        problem = assert_problem(response, 409)
        assert HEADER in problem["detail"]
        assert response.headers["retry-after"] == "1"
        assert await snapshot(db) == before
    # Released: the same request now goes through, once.
    response = await client.post("/v1/organizations", json=ORGANIZATION, headers={HEADER: key})
    assert response.status_code == 201, response.text
    assert REPLAYED not in response.headers
    assert await count(db, "organizations") == 1


@pytest.mark.also_behind_pgbouncer
async def test_a_duplicate_of_a_request_in_flight_is_409_and_then_replays(client, settings, db):
    """A real first request, held mid-transaction by a row lock on what it publishes."""
    subject = await create_subject(client, "statement")
    draft = await create_assessment(client, subject)
    url = f"/v1/assessments/{draft['id']}/publish"
    key = new_key()
    async with concurrent_client(settings) as http:
        blocker = db.transaction()
        await blocker.start()
        try:
            await db.execute("SELECT 1 FROM assessments WHERE id = $1 FOR UPDATE", draft["id"])
            first = asyncio.create_task(http.post(url, headers={HEADER: key}))
            await wait_for_advisory_lock(db)
            duplicate = await asyncio.wait_for(http.post(url, headers={HEADER: key}), 2)
            assert_problem(duplicate, 409)
            assert HEADER in duplicate.json()["detail"]
            assert not first.done()
        finally:
            await blocker.rollback()
        published = await first
        assert published.status_code == 200, published.text
        assert published.json()["state"] == "published"
        again = await http.post(url, headers={HEADER: key})
    assert again.status_code == 200, again.text
    assert again.headers[REPLAYED] == "true"
    assert again.content == published.content


# ---- the record and the change commit together ----------------------------------------------


@pytest.mark.also_behind_pgbouncer
async def test_a_change_whose_record_cannot_be_written_is_rolled_back(client, db):
    """The record is written in the change's transaction: when writing it fails, the
    change is undone too, so a committed change always has its record."""
    await db.execute(
        "CREATE FUNCTION refuse_record() RETURNS trigger LANGUAGE plpgsql AS $$"
        " BEGIN RAISE EXCEPTION 'no records today'; END $$"
    )
    await db.execute(
        "CREATE TRIGGER refuse_record BEFORE INSERT ON idempotency_keys"
        " FOR EACH ROW EXECUTE FUNCTION refuse_record()"
    )
    before = await snapshot(db)
    response = await client.post(
        "/v1/organizations", json=ORGANIZATION, headers={HEADER: new_key()}
    )
    assert response.status_code >= 400, response.text
    assert await snapshot(db) == before
    # The trigger is the only obstacle: without a key the same request commits.
    response = await client.post("/v1/organizations", json=ORGANIZATION)
    assert response.status_code == 201, response.text


# ---- what is not recorded ---------------------------------------------------------------------


async def test_a_request_rejected_before_the_handler_leaves_the_key_free(client, db):
    key = new_key()
    bad = await client.post("/v1/organizations", json={"name": ""}, headers={HEADER: key})
    assert_problem(bad, 422, field="name")
    good = await client.post("/v1/organizations", json=ORGANIZATION, headers={HEADER: key})
    assert good.status_code == 201, good.text
    assert REPLAYED not in good.headers
    assert await count(db, "organizations") == 1


async def test_a_request_that_failed_in_its_transaction_leaves_the_key_free(client, db):
    """The handler ran (the key was claimed) and refused: the rollback took the claim
    with it, so the corrected request is processed, not judged a different request."""
    key = new_key()
    speaker = await create_person(client)
    body = {"text": "There has been no decision."}
    bad = await client.post(
        "/v1/statements", json={**body, "speaker_id": MISSING_ID}, headers={HEADER: key}
    )
    assert_problem(bad, 422)
    assert await count(db, "idempotency_keys") == 0
    good = await client.post(
        "/v1/statements", json={**body, "speaker_id": speaker["id"]}, headers={HEADER: key}
    )
    assert good.status_code == 201, good.text
    assert REPLAYED not in good.headers
    assert await count(db, "statements") == 1
    assert await count(db, "idempotency_keys") == 1


async def test_a_key_older_than_24_hours_is_processed_anew(client, db):
    key = new_key()
    first = await client.post("/v1/organizations", json=ORGANIZATION, headers={HEADER: key})
    await db.execute(
        "UPDATE idempotency_keys SET created_at = now() - interval '24 hours 1 second'"
    )

    second = await client.post("/v1/organizations", json=ORGANIZATION, headers={HEADER: key})
    assert second.status_code == 201, second.text
    assert REPLAYED not in second.headers
    assert second.json()["id"] != first.json()["id"]
    assert await count(db, "organizations") == 2
    row = await db.fetchrow(
        "SELECT body, created_at > now() - interval '1 minute' AS fresh FROM idempotency_keys"
    )
    assert row["fresh"] and row["body"] == second.content

    third = await client.post("/v1/organizations", json=ORGANIZATION, headers={HEADER: key})
    assert third.headers[REPLAYED] == "true"
    assert third.json()["id"] == second.json()["id"]


async def test_a_key_just_under_24_hours_old_still_replays(client, db):
    key = new_key()
    first = await client.post("/v1/organizations", json=ORGANIZATION, headers={HEADER: key})
    await db.execute(
        "UPDATE idempotency_keys SET created_at = now() - interval '23 hours 59 minutes'"
    )
    again = await client.post("/v1/organizations", json=ORGANIZATION, headers={HEADER: key})
    assert again.headers[REPLAYED] == "true"
    assert again.json()["id"] == first.json()["id"]


async def test_writers_purge_expired_records_now_and_then(client, db, monkeypatch):
    await db.executemany(
        "INSERT INTO idempotency_keys (caller, key, request_sha256, status_code, body, created_at)"
        " VALUES ('someone', $1, '\\x00', 201, '', now() - $2::text::interval)",
        [("old-1", "25 hours"), ("old-2", "48 hours"), ("fresh", "1 hour")],
    )
    monkeypatch.setattr(idempotency, "PURGE_ONE_IN", 1)
    response = await client.post(
        "/v1/organizations", json=ORGANIZATION, headers={HEADER: new_key()}
    )
    assert response.status_code == 201, response.text
    left = {
        r["key"]
        for r in await db.fetch("SELECT key FROM idempotency_keys WHERE caller = 'someone'")
    }
    assert left == {"fresh"}
    assert await count(db, "idempotency_keys") == 2


async def test_a_purge_is_bounded(db):
    await db.executemany(
        "INSERT INTO idempotency_keys (caller, key, request_sha256, status_code, body, created_at)"
        " VALUES ('someone', $1, '\\x00', 201, '', now() - interval '30 hours')",
        [(f"old-{i}",) for i in range(5)],
    )
    assert await idempotency.purge_expired(db, limit=3) == 3
    assert await count(db, "idempotency_keys") == 2


# ---- the header ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("", id="empty"),
        pytest.param("two words", id="space"),
        pytest.param("tab\there", id="tab"),
        pytest.param("k" * 256, id="256-characters"),
        pytest.param("clé".encode(), id="not-ascii"),
    ],
)
async def test_a_malformed_key_is_422_and_changes_nothing(client, db, value):
    before = await snapshot(db)
    response = await client.post("/v1/organizations", json=ORGANIZATION, headers={HEADER: value})
    assert_problem(response, 422, field=HEADER)
    assert await snapshot(db) == before
    assert await count(db, "idempotency_keys") == 0


async def test_the_key_may_be_sent_only_once(client, db):
    response = await client.post(
        "/v1/organizations", json=ORGANIZATION, headers=[(HEADER, "a"), (HEADER, "b")]
    )
    assert_problem(response, 422, field=HEADER)
    assert await count(db, "organizations") == 0


async def test_a_key_of_255_visible_characters_is_accepted(client, db):
    key = "~!" + "k" * 253
    first = await client.post("/v1/organizations", json=ORGANIZATION, headers={HEADER: key})
    assert first.status_code == 201, first.text
    again = await client.post("/v1/organizations", json=ORGANIZATION, headers={HEADER: key})
    assert again.headers[REPLAYED] == "true"
    assert await db.fetchval("SELECT key FROM idempotency_keys") == key


# ---- workflow actions and secrets ---------------------------------------------------------------


@pytest.mark.also_behind_pgbouncer
async def test_a_repeated_publish_replays_its_200_instead_of_a_409(client, db):
    subject = await create_subject(client, "document")
    draft = await create_assessment(client, subject)
    url = f"/v1/assessments/{draft['id']}/publish"
    key = new_key()
    first = await client.post(url, headers={HEADER: key})
    assert first.status_code == 200, first.text
    assert first.json()["state"] == "published"

    again = await client.post(url, headers={HEADER: key})
    assert again.status_code == 200, again.text
    assert again.headers[REPLAYED] == "true"
    assert again.content == first.content
    assert again.headers["etag"] == first.headers["etag"]
    published = await db.fetchval(
        "SELECT count(*) FROM events WHERE resource_id = $1 AND action = 'published'",
        uuid.UUID(draft["id"]),
    )
    assert published == 1
    # Without the key the same request is a second publish, which the workflow refuses.
    assert_problem(await client.post(url), 409)


async def test_a_new_api_keys_secret_is_never_kept_nor_replayed(client, db):
    key = new_key()
    body = {"name": "cms-plugin", "scopes": ["write"]}
    first = await client.post("/v1/api-keys", json=body, headers={HEADER: key})
    assert first.status_code == 201, first.text
    secret = first.json()["secret"]

    again = await client.post("/v1/api-keys", json=body, headers={HEADER: key})
    problem = assert_problem(again, 409)
    assert secret not in again.text
    assert "secret" in problem["detail"]
    assert again.headers["location"] == first.headers["location"]
    assert REPLAYED not in again.headers
    assert await db.fetchval("SELECT count(*) FROM api_keys WHERE name = 'cms-plugin'") == 1
    row = await db.fetchrow("SELECT body, headers::text AS headers FROM idempotency_keys")
    assert row["body"] is None
    assert secret not in row["headers"]


# ---- every POST, by construction ----------------------------------------------------------------


def test_every_post_documents_the_key_its_409_422_and_the_replay_header():
    schema = json.loads(render_schema())
    posts = [(path, item["post"]) for path, item in schema["paths"].items() if "post" in item]
    assert len(posts) >= 9
    for path, operation in posts:
        headers = [p for p in operation["parameters"] if p["in"] == "header"]
        key = next(p for p in headers if p["name"] == HEADER)
        assert key["required"] is False, path
        assert key["schema"]["maxLength"] == 255, path
        for status in ("409", "422"):
            response = operation["responses"][status]
            assert list(response["content"]) == [PROBLEM], path
            assert HEADER in response["description"], (path, status)
        success = [r for s, r in operation["responses"].items() if s.startswith("2")]
        assert success and all(REPLAYED in r["headers"] for r in success), path
    # Other methods do not claim to honour it.
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method != "post":
                names = [p["name"] for p in operation.get("parameters", [])]
                assert HEADER not in names, (method, path)


async def provide_nothing() -> Any:
    return None


def test_a_post_outside_the_write_transaction_stops_the_app_from_starting():
    @post("/unsafe")
    async def unsafe() -> None:
        return None

    @post("/safe")
    async def safe(tx: NamedDependency[Any]) -> None:
        return None

    with pytest.raises(ImproperlyConfiguredException, match="tx"):
        Litestar(route_handlers=[unsafe], plugins=[idempotency.IdempotentPosts()])
    Litestar(
        route_handlers=[safe],
        dependencies={"tx": Provide(provide_nothing)},
        plugins=[idempotency.IdempotentPosts()],
    )
