"""Conventions every endpoint shares, and what the database guarantees underneath:
atomic If-Match under concurrency, keyset paging that neither repeats nor skips,
the version trigger, soft deletes only, an append-only event log, CHECK constraints,
and the problem+json shape of every error."""

from __future__ import annotations

import asyncio
from uuid import UUID

import asyncpg
import pytest

from tests.helpers import (
    MISSING_ID,
    PROBLEM,
    all_ids,
    assert_problem,
    assert_rejected,
    concurrent_client,
    create_document,
    create_organization,
    create_person,
    create_statement,
    delete,
    etag_of,
    history,
    snapshot,
)

pytestmark = pytest.mark.asyncio

COLLECTIONS = ("organizations", "people", "documents", "statements")


async def one_of_each(client) -> dict[str, dict]:
    """A live organization, person, document and statement, keyed by collection."""
    person = await create_person(client)
    return {
        "organizations": await create_organization(client),
        "people": person,
        "documents": await create_document(client),
        "statements": await create_statement(client, speaker_id=person["id"]),
    }


async def wait_for_lock_waiters(db: asyncpg.Connection, count: int) -> None:
    """Wait until `count` backends are blocked on a lock (pg_locks is read live, even
    inside a transaction); fail after a few seconds rather than hang."""
    for _ in range(1000):
        waiting = await db.fetchval("SELECT count(*) FROM pg_locks WHERE NOT granted")
        if waiting >= count:
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"only {waiting} of {count} requests reached the row lock")


# ---- preconditions under concurrency -----------------------------------------------------------


async def test_concurrent_patches_with_the_same_if_match_let_exactly_one_win(settings, db):
    n = 10
    async with concurrent_client(settings) as http:
        statement = await create_statement(http)
        url = f"/v1/statements/{statement['id']}"
        etag = await etag_of(http, url)
        # Hold the row lock until all ten requests are in flight at once, so that each
        # reads the row while the others do; only an atomic check lets just one win.
        async with db.transaction():
            await db.execute(
                "SELECT 1 FROM statements WHERE id = $1 FOR UPDATE", UUID(statement["id"])
            )
            requests = asyncio.gather(
                *(
                    http.patch(url, json={"text": f"Edit number {i}"}, headers={"If-Match": etag})
                    for i in range(n)
                )
            )
            await wait_for_lock_waiters(db, n)
        responses = await requests

        statuses = sorted(r.status_code for r in responses)
        assert statuses == [200] + [412] * (n - 1), statuses
        [winner] = [r for r in responses if r.status_code == 200]
        for loser in (r for r in responses if r.status_code == 412):
            assert_problem(loser, 412)
        current = (await http.get(url)).json()
        assert current["version"] == 2
        assert current["text"] == winner.json()["text"]
        events = await history(http, url)
        assert [(e["action"], e["version"]) for e in events] == [("created", 1), ("updated", 2)]


async def test_concurrent_patches_without_a_barrier_let_exactly_one_win(settings, db):
    n = 10
    async with concurrent_client(settings) as http:
        person = await create_person(http)
        url = f"/v1/people/{person['id']}"
        etag = await etag_of(http, url)
        responses = await asyncio.gather(
            *(
                http.patch(url, json={"description": f"Take {i}"}, headers={"If-Match": etag})
                for i in range(n)
            )
        )
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [200] + [412] * (n - 1), statuses
        assert (await http.get(url)).json()["version"] == 2
    assert (await db.fetchval("SELECT count(*) FROM events WHERE action = 'updated'")) == 1


async def test_concurrent_deletes_with_the_same_if_match_delete_once(settings, db):
    n = 6
    async with concurrent_client(settings) as http:
        org = await create_organization(http)
        url = f"/v1/organizations/{org['id']}"
        etag = await etag_of(http, url)
        async with db.transaction():
            await db.execute(
                "SELECT 1 FROM organizations WHERE id = $1 FOR UPDATE", UUID(org["id"])
            )
            requests = asyncio.gather(
                *(http.delete(url, headers={"If-Match": etag}) for _ in range(n))
            )
            await wait_for_lock_waiters(db, n)
        responses = await requests

        statuses = sorted(r.status_code for r in responses)
        assert statuses == [204] + [404] * (n - 1), statuses
        events = await history(http, url)
        assert [(e["action"], e["version"]) for e in events] == [("created", 1), ("deleted", 2)]


async def test_concurrent_unconditional_patches_are_serialised(settings):
    n = 8
    async with concurrent_client(settings) as http:
        person = await create_person(http)
        url = f"/v1/people/{person['id']}"
        responses = await asyncio.gather(
            *(
                http.patch(url, json={"description": f"Take {i}"}, headers={"If-Match": "*"})
                for i in range(n)
            )
        )
        assert [r.status_code for r in responses] == [200] * n
        # Every write saw the one before it: versions 2..n+1, each exactly once.
        assert sorted(r.json()["version"] for r in responses) == list(range(2, n + 2))
        events = await history(http, url)
        assert [e["version"] for e in events] == list(range(1, n + 2))
        assert (await http.get(url)).json()["version"] == n + 1


async def test_a_reference_cannot_race_past_a_concurrent_delete(settings, db):
    async with concurrent_client(settings) as http:
        org = await create_organization(http)
        # The organization is being deleted by a transaction that has not committed yet.
        async with db.transaction():
            await db.execute(
                "UPDATE organizations SET deleted_at = now() WHERE id = $1", UUID(org["id"])
            )
            request = asyncio.ensure_future(
                http.post(
                    "/v1/people",
                    json={"name": "P", "affiliations": [{"organization_id": org["id"]}]},
                )
            )
            # Either the request waits for the delete to commit, or it is already done
            # (having wrongly trusted the organization); never wait forever.
            for _ in range(1000):
                if request.done() or await db.fetchval(
                    "SELECT count(*) FROM pg_locks WHERE NOT granted"
                ):
                    break
                await asyncio.sleep(0.005)
        response = await request
    assert_problem(response, 422, field="affiliations[0].organization_id")
    assert await db.fetchval("SELECT count(*) FROM people") == 0


async def test_if_match_compares_strongly(client, db):
    org = await create_organization(client)
    url = f"/v1/organizations/{org['id']}"
    etag = await etag_of(client, url)
    # RFC 9110 13.1.1: a weak tag never matches If-Match, even with the same opaque value.
    for method, body in (("PATCH", {"name": "X"}), ("DELETE", None)):
        await assert_rejected(
            client, db, method, url, status=412, json=body, headers={"If-Match": f"W/{etag}"}
        )
    # A list of tags matches when any of them is current.
    response = await client.patch(url, json={"name": "Y"}, headers={"If-Match": f'"old", {etag}'})
    assert response.status_code == 200, response.text


async def test_every_collection_requires_if_match_on_patch_and_delete(client, db):
    resources = await one_of_each(client)
    for collection, resource in resources.items():
        url = f"/v1/{collection}/{resource['id']}"
        await assert_rejected(client, db, "PATCH", url, status=428, json={})
        await assert_rejected(client, db, "DELETE", url, status=428)
        await assert_rejected(client, db, "DELETE", url, status=428, headers={"If-Match": " "})
        await assert_rejected(
            client, db, "PATCH", url, status=412, json={}, headers={"If-Match": '"nope"'}
        )


# ---- keyset paging ---------------------------------------------------------------------------


async def test_paging_while_inserting_never_repeats_or_skips(client):
    speaker = await create_person(client)
    existing = [
        (await create_statement(client, speaker_id=speaker["id"], text=f"Old {i}"))["id"]
        for i in range(30)
    ]
    seen: list[str] = []
    inserted: list[str] = []
    cursor = None
    for _ in range(20):
        params = {"limit": 7, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/v1/statements", params=params)).json()
        assert len(page["items"]) <= 7
        seen += [s["id"] for s in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
        for j in range(2):
            new = await create_statement(client, speaker_id=speaker["id"], text=f"New {j}")
            inserted.append(new["id"])
    assert cursor is None
    assert len(seen) == len(set(seen)), "a row was served twice"
    assert sorted(s for s in seen if s in set(existing)) == sorted(existing)
    assert set(seen) <= set(existing) | set(inserted)


async def test_paging_through_rows_with_the_same_created_at(client, db):
    speaker = await create_person(client)
    # One statement inserts them all, so they share created_at = now(): only the id
    # tells them apart in the keyset.
    await db.execute(
        "INSERT INTO statements (speaker_id, text)"
        " SELECT $1, 'Quote ' || g FROM generate_series(1, 30) AS g",
        UUID(speaker["id"]),
    )
    rows = await db.fetch("SELECT id FROM statements")
    seen = await all_ids(client, "/v1/statements", limit=7)
    assert sorted(seen) == sorted(str(r["id"]) for r in rows)
    assert seen == sorted(seen, reverse=True)  # ties are ordered by id, descending


async def test_paging_goes_on_after_the_cursors_row_is_deleted(client):
    created = [(await create_organization(client, name=f"Org {i}"))["id"] for i in range(7)]
    first = (await client.get("/v1/organizations", params={"limit": 3})).json()
    assert [o["id"] for o in first["items"]] == created[::-1][:3]
    await delete(client, f"/v1/organizations/{first['items'][-1]['id']}")  # the cursor's row
    await delete(client, f"/v1/organizations/{created[1]}")  # a row not yet served
    rest = await all_ids(client, "/v1/organizations", limit=3, cursor=first["next_cursor"])
    assert rest == [created[3], created[2], created[0]]


# ---- what the database guarantees whatever the code does -----------------------------------------


async def test_the_trigger_bumps_the_version_by_exactly_one(client, db):
    resources = await one_of_each(client)
    for collection, resource in resources.items():
        id = UUID(resource["id"])
        await db.execute(f"UPDATE {collection} SET version = 99 WHERE id = $1", id)
        row = await db.fetchrow(
            f"SELECT version, updated_at, created_at FROM {collection} WHERE id = $1", id
        )
        assert row["version"] == 2, collection
        assert row["updated_at"] > row["created_at"]
        await db.execute(f"UPDATE {collection} SET version = 1 WHERE id = $1", id)
        assert await db.fetchval(f"SELECT version FROM {collection} WHERE id = $1", id) == 3


async def test_ids_and_creation_times_are_immutable(client, db):
    org = await create_organization(client)
    for assignment in ("id = gen_random_uuid()", "created_at = now() - interval '1 day'"):
        with pytest.raises(asyncpg.IntegrityConstraintViolationError) as raised:
            await db.execute(
                f"UPDATE organizations SET {assignment} WHERE id = $1", UUID(org["id"])
            )
        assert raised.value.sqlstate == "23000"


async def test_rows_are_never_erased(client, db):
    resources = await one_of_each(client)
    before = await snapshot(db)
    for collection, resource in resources.items():
        with pytest.raises(asyncpg.IntegrityConstraintViolationError) as raised:
            await db.execute(f"DELETE FROM {collection} WHERE id = $1", UUID(resource["id"]))
        assert raised.value.sqlstate == "23000", collection
    assert await snapshot(db) == before


async def test_a_deleted_row_cannot_change(client, db):
    org = await create_organization(client)
    await delete(client, f"/v1/organizations/{org['id']}")
    with pytest.raises(asyncpg.ObjectNotInPrerequisiteStateError):
        await db.execute("UPDATE organizations SET name = 'Back' WHERE id = $1", UUID(org["id"]))
    with pytest.raises(asyncpg.ObjectNotInPrerequisiteStateError):
        await db.execute(
            "UPDATE organizations SET deleted_at = NULL WHERE id = $1", UUID(org["id"])
        )


async def test_the_event_log_is_append_only(client, db):
    await create_organization(client)
    before = await snapshot(db)
    for sql in (
        "UPDATE events SET action = 'deleted'",
        "UPDATE events SET version = version",
        "DELETE FROM events",
        "TRUNCATE events",
    ):
        with pytest.raises(asyncpg.IntegrityConstraintViolationError) as raised:
            await db.execute(sql)
        assert raised.value.sqlstate == "23000", sql
    assert await snapshot(db) == before


INVALID_ROWS = [
    (
        "INSERT INTO organizations (name, kind) VALUES ('X', 'bank')",
        asyncpg.InvalidTextRepresentationError,
    ),
    ("INSERT INTO organizations (name) VALUES ('   ')", asyncpg.CheckViolationError),
    ("INSERT INTO organizations (name) VALUES ('')", asyncpg.CheckViolationError),
    (
        "INSERT INTO organizations (name, url) VALUES ('X', 'javascript:alert(1)')",
        asyncpg.CheckViolationError,
    ),
    ("INSERT INTO organizations (name) VALUES (NULL)", asyncpg.NotNullViolationError),
    ("INSERT INTO people (name) VALUES ('  ')", asyncpg.CheckViolationError),
    ("INSERT INTO people (name) VALUES (E'\\t\\n')", asyncpg.CheckViolationError),
    ("INSERT INTO documents (title) VALUES (E'\\r\\n')", asyncpg.CheckViolationError),
    (
        "INSERT INTO statements (speaker_id, text) SELECT id, E'\\t' FROM people",
        asyncpg.CheckViolationError,
    ),
    ("INSERT INTO documents (title) VALUES (' ')", asyncpg.CheckViolationError),
    (
        "INSERT INTO documents (title, kind) VALUES ('T', 'novel')",
        asyncpg.InvalidTextRepresentationError,
    ),
    (
        "INSERT INTO documents (title, visibility) VALUES ('T', 'secret')",
        asyncpg.InvalidTextRepresentationError,
    ),
    (
        f"INSERT INTO documents (title, sha256) VALUES ('T', '{'A' * 64}')",
        asyncpg.CheckViolationError,
    ),
    (
        f"INSERT INTO documents (title, sha256) VALUES ('T', '{'a' * 63}')",
        asyncpg.CheckViolationError,
    ),
    (
        f"INSERT INTO documents (title, sha256) VALUES ('T', '{'g' * 64}')",
        asyncpg.CheckViolationError,
    ),
    (
        "INSERT INTO documents (title, language) VALUES ('T', 'english')",
        asyncpg.CheckViolationError,
    ),
    (
        f"INSERT INTO documents (title, issuer_id) VALUES ('T', '{MISSING_ID}')",
        asyncpg.ForeignKeyViolationError,
    ),
    (
        f"INSERT INTO statements (speaker_id, text) VALUES ('{MISSING_ID}', 'Q')",
        asyncpg.ForeignKeyViolationError,
    ),
    (
        "INSERT INTO statements (speaker_id, text) SELECT id, ' ' FROM people",
        asyncpg.CheckViolationError,
    ),
    (
        "INSERT INTO statements (speaker_id, text, medium) SELECT id, 'Q', 'podcast' FROM people",
        asyncpg.InvalidTextRepresentationError,
    ),
    (
        f"INSERT INTO events (resource_type, resource_id, action, version) VALUES ('person', '{MISSING_ID}', 'erased', 1)",
        asyncpg.InvalidTextRepresentationError,
    ),
    (
        f"INSERT INTO events (resource_type, resource_id, action, version) VALUES ('person', '{MISSING_ID}', 'created', 0)",
        asyncpg.CheckViolationError,
    ),
]


async def test_the_database_refuses_invalid_rows(client, db):
    await create_person(client)  # a speaker for the statements below
    before = await snapshot(db)
    failures = []
    for sql, error in INVALID_ROWS:
        try:
            await db.execute(sql)
        except error:
            continue
        except asyncpg.PostgresError as exc:
            failures.append(f"{sql}: raised {type(exc).__name__}, not {error.__name__}")
        else:
            failures.append(f"{sql}: accepted")
    assert not failures, "\n".join(failures)
    assert await snapshot(db) == before


async def test_the_database_refuses_invalid_child_rows(client, db):
    person = await create_person(client)
    org = await create_organization(client)
    statement = await create_statement(client, speaker_id=person["id"])
    document = await create_document(client)
    before = await snapshot(db)
    pid, oid = UUID(person["id"]), UUID(org["id"])
    with pytest.raises(asyncpg.CheckViolationError):  # ends before it starts
        await db.execute(
            "INSERT INTO affiliations (person_id, position, organization_id, start_on, end_on)"
            " VALUES ($1, 0, $2, '2020-01-02', '2020-01-01')",
            pid,
            oid,
        )
    with pytest.raises(asyncpg.CheckViolationError):  # two owners
        await db.execute(
            "INSERT INTO appearances (statement_id, document_id, position, url)"
            " VALUES ($1, $2, 0, 'https://a.example')",
            UUID(statement["id"]),
            UUID(document["id"]),
        )
    with pytest.raises(asyncpg.CheckViolationError):  # not an http(s) URL
        await db.execute(
            "INSERT INTO appearances (statement_id, position, url) VALUES ($1, 0, 'ftp://x')",
            UUID(statement["id"]),
        )
    assert await snapshot(db) == before


# ---- the shape of errors ---------------------------------------------------------------------


async def test_unknown_routes_and_methods_answer_problem_json(client):
    for path in ("/v1/nope", "/nope", "/v1/organizations/x/y/z"):
        assert_problem(await client.get(path), 404)
    assert_problem(await client.put("/v1/people", json={}), 405)
    assert_problem(await client.delete("/v1/people"), 405)


async def test_a_validation_error_names_each_field(client, db):
    problem = await assert_rejected(
        client, db, "POST", "/v1/people", json={"name": 5}, field="name"
    )
    assert problem["type"].endswith("invalid-input")
    assert problem["title"] == "Unprocessable Entity"
    assert isinstance(problem["errors"], list) and problem["errors"]
    for error in problem["errors"]:
        assert isinstance(error["field"], str) and isinstance(error["message"], str)


async def test_every_collection_answers_404_for_an_unknown_id_everywhere(client, db):
    for collection in COLLECTIONS:
        url = f"/v1/{collection}/{MISSING_ID}"
        assert_problem(await client.get(url), 404)
        assert_problem(await client.get(f"{url}/history"), 404)
        await assert_rejected(
            client, db, "PATCH", url, status=404, json={}, headers={"If-Match": "*"}
        )
        await assert_rejected(client, db, "DELETE", url, status=404, headers={"If-Match": "*"})


async def test_a_body_over_the_size_limit_is_413(client, db):
    body = b'{"name": "' + b"x" * (1024 * 1024 + 1) + b'"}'
    response = await assert_rejected(
        client,
        db,
        "POST",
        "/v1/organizations",
        status=413,
        content=body,
        headers={"Content-Type": "application/json"},
    )
    assert response["status"] == 413


async def test_errors_never_leak_sql_or_stack_traces(client, db):
    # A NUL character passes JSON validation but PostgreSQL text cannot hold it.
    response = await client.post("/v1/organizations", json={"name": "Nul\u0000Org"})
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    text = response.text.lower()
    for leak in ("traceback", "asyncpg", "insert into", "select ", "postgres"):
        assert leak not in text, response.text
    assert await db.fetchval("SELECT count(*) FROM organizations") == 0


# ---- found by schemathesis (tests/test_fuzz.py) -----------------------------------------------


async def test_options_allows_every_method_of_the_path(client):
    response = await client.options(f"/v1/organizations/{MISSING_ID}")
    assert response.status_code == 204
    assert response.headers["allow"] == "DELETE, GET, OPTIONS, PATCH"


async def test_a_query_timestamp_must_be_rfc_3339_with_an_offset(client):
    for value in ("0.5", "1700000000", "2024-01-01T00:00:00", "2024-01-01"):
        response = await client.get("/v1/statements", params={"updated_since": value})
        assert_problem(response, 422, field="updated_since")
    response = await client.get("/v1/statements", params={"said_after": "2024-01-01T00:00:00Z"})
    assert response.status_code == 200, response.text


async def test_blank_and_the_end_mean_the_same_to_python_and_to_the_schema(client, db):
    # Python's `\s` counts \x1c as space, ECMA 262's counts \ufeff; `$` in Python also
    # matches before a final newline. The schema and the service must agree.
    for name in ("\x1c", "\ufeff", " \u3000"):
        await assert_rejected(
            client, db, "POST", "/v1/organizations", json={"name": name}, field="name"
        )
    await assert_rejected(
        client,
        db,
        "POST",
        "/v1/organizations",
        json={"name": "x", "url": "https://x.example\n"},
        field="url",
    )


async def test_the_first_and_last_instants_and_days_are_kept_as_given(client):
    # asyncpg would write them as -infinity and infinity, which could not be read back.
    person = await create_person(client)
    for said_at in ("0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999Z"):
        response = await client.post(
            "/v1/statements", json={"speaker_id": person["id"], "text": "x", "said_at": said_at}
        )
        assert response.status_code == 201, response.text
        statement = (await client.get(f"/v1/statements/{response.json()['id']}")).json()
        assert statement["said_at"].startswith(said_at[:19])
    for dated_on in ("0001-01-01", "9999-12-31"):
        document = await create_document(client, dated_on=dated_on)
        assert document["dated_on"] == dated_on
