"""Relations through HTTP: create, read, list and filter, delete, history, the rules
on their ends (live, of the type given, not the same resource), no duplicates even
under concurrent writers, no PATCH, and what the database guarantees underneath."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

import asyncpg
import pytest

from tests.helpers import (
    BASE_URL,
    JSON,
    MISSING_ID,
    all_ids,
    assert_conditional_get,
    assert_problem,
    concurrent_client,
    create_document,
    create_person,
    create_statement,
    delete,
    etag_of,
    history,
    list_ids,
    snapshot,
)

pytestmark = pytest.mark.asyncio

URL = "/v1/relations"
# A second well-formed id that no test creates (two missing ends must differ, or the
# pair would be refused as a relation of a resource to itself first).
OTHER_MISSING_ID = "00000000-0000-4000-8000-000000000001"

TYPES = [
    "denies",
    "contradicts",
    "confirms",
    "supports",
    "clarifies",
    "retracts",
    "responds_to",
    "cites",
]


# ---- helpers ---------------------------------------------------------------------------------


def ref(resource: dict[str, Any], type: str) -> dict[str, str]:
    return {"type": type, "id": resource["id"]}


def statement_ref(statement: dict[str, Any]) -> dict[str, str]:
    return ref(statement, "statement")


def document_ref(document: dict[str, Any]) -> dict[str, str]:
    return ref(document, "document")


async def create_relation(
    client: Any, source: dict[str, str], target: dict[str, str], type: str = "denies", **fields: Any
) -> dict[str, Any]:
    response = await client.post(
        URL, json={"source": source, "type": type, "target": target, **fields}
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def denial(client: Any) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The founding shape: a statement that denies a letter; (statement, letter, relation)."""
    statement = await create_statement(client)
    letter = await create_document(client)
    relation = await create_relation(client, statement_ref(statement), document_ref(letter))
    return statement, letter, relation


async def state(db: asyncpg.Connection) -> dict[str, tuple[int, str]]:
    """helpers.snapshot (every other table and the event log) plus the relations table,
    which helpers.TABLES does not list."""
    tables = await snapshot(db)
    row = await db.fetchrow(
        "SELECT count(*) AS n, md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), ''))"
        " AS digest FROM relations t"
    )
    tables["relations"] = (row["n"], row["digest"])
    return tables


async def assert_refused(
    client: Any,
    db: asyncpg.Connection,
    method: str,
    url: str,
    *,
    status: int = 422,
    field: str | None = None,
    **request: Any,
) -> dict[str, Any]:
    """The request is refused with a problem and no table (relations and events
    included) changed."""
    before = await state(db)
    problem = assert_problem(await client.request(method, url, **request), status, field=field)
    assert await state(db) == before, f"{method} {url} changed the database"
    return problem


async def assert_each_refused(
    client: Any,
    db: asyncpg.Connection,
    cases: list[tuple[str, Any, str | None]],
    *,
    status: int = 422,
) -> None:
    """`assert_refused` for each POST `(case id, body, field)`; reports every failure."""
    failures = []
    for case, body, field in cases:
        try:
            await assert_refused(client, db, "POST", URL, status=status, field=field, json=body)
        except AssertionError as exc:
            failures.append(f"{case}: {exc}")
    assert not failures, "\n".join(failures)


async def wait_for_lock_waiters(db: asyncpg.Connection, count: int) -> None:
    for _ in range(1000):
        waiting = await db.fetchval("SELECT count(*) FROM pg_locks WHERE NOT granted")
        if waiting >= count:
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"only {waiting} of {count} requests reached the lock")


# ---- create and read ----------------------------------------------------------------------------


async def test_a_statement_denies_a_document(client):
    statement = await create_statement(client)
    letter = await create_document(client)
    body = {"source": statement_ref(statement), "type": "denies", "target": document_ref(letter)}
    response = await client.post(URL, json=body)
    assert response.status_code == 201, response.text
    assert response.headers["content-type"].startswith(JSON)
    created = response.json()
    UUID(created["id"])
    assert response.headers["location"] == f"{BASE_URL}{URL}/{created['id']}"
    assert response.headers["etag"].startswith('"')
    assert created == {
        "id": created["id"],
        "source": {"type": "statement", "id": statement["id"]},
        "type": "denies",
        "target": {"type": "document", "id": letter["id"]},
        "note": None,
        "version": 1,
        "created_at": created["created_at"],
        "updated_at": created["created_at"],
    }
    assert created["created_at"].endswith("Z")
    got = await client.get(f"{URL}/{created['id']}")
    assert got.json() == created
    assert got.headers["etag"] == response.headers["etag"]
    [event] = await history(client, f"{URL}/{created['id']}")
    assert (event["action"], event["version"], event["resource_type"]) == (
        "created",
        1,
        "relation",
    )
    # The target's verification counts the live denial.
    target = (await client.get(f"/v1/documents/{letter['id']}")).json()
    assert target["verification"]["denials"] == 1


async def test_a_document_responds_to_a_statement_with_a_note(client):
    statement = await create_statement(client)
    letter = await create_document(client)
    created = await create_relation(
        client,
        document_ref(letter),
        statement_ref(statement),
        "responds_to",
        note="The letter answers the minister's remarks.",
    )
    assert created["source"] == {"type": "document", "id": letter["id"]}
    assert created["target"] == {"type": "statement", "id": statement["id"]}
    assert (created["type"], created["note"]) == (
        "responds_to",
        "The letter answers the minister's remarks.",
    )
    assert (await client.get(f"{URL}/{created['id']}")).json() == created


async def test_every_type_and_every_pair_of_end_types_is_accepted(client):
    speaker = await create_person(client)
    s1 = await create_statement(client, speaker_id=speaker["id"], text="One.")
    s2 = await create_statement(client, speaker_id=speaker["id"], text="Two.")
    d1 = await create_document(client, title="First")
    d2 = await create_document(client, title="Second")
    pairs = [
        (statement_ref(s1), statement_ref(s2)),
        (statement_ref(s1), document_ref(d1)),
        (document_ref(d1), statement_ref(s1)),
        (document_ref(d1), document_ref(d2)),
    ]
    for type in TYPES:
        for source, target in pairs:
            created = await create_relation(client, source, target, type, note=None)
            assert (created["source"], created["type"], created["target"]) == (
                source,
                type,
                target,
            )


async def test_the_same_ends_may_hold_several_types_and_both_directions(client):
    statement, letter, _ = await denial(client)
    await create_relation(client, statement_ref(statement), document_ref(letter), "cites")
    await create_relation(client, document_ref(letter), statement_ref(statement), "denies")


async def test_get_answers_304_to_a_matching_if_none_match(client):
    _, _, relation = await denial(client)
    await assert_conditional_get(client, f"{URL}/{relation['id']}")


async def test_get_of_an_unknown_or_malformed_id_is_a_404_problem(client):
    statement = await create_statement(client)
    # A statement's id is not a relation's.
    for id in (MISSING_ID, statement["id"], "not-a-uuid"):
        assert_problem(await client.get(f"{URL}/{id}"), 404)


# ---- lists ------------------------------------------------------------------------------------


async def test_list_is_newest_first_and_pages_with_its_cursor(client):
    speaker = await create_person(client)
    letter = await create_document(client)
    created = []
    for i in range(5):
        statement = await create_statement(client, speaker_id=speaker["id"], text=f"No. {i}")
        relation = await create_relation(client, statement_ref(statement), document_ref(letter))
        created.append(relation)
    page = (await client.get(URL)).json()
    assert set(page) == {"items", "next_cursor"}
    assert page["items"] == created[::-1]
    assert page["next_cursor"] is None
    first = (await client.get(URL, params={"limit": 2})).json()
    assert [r["id"] for r in first["items"]] == [r["id"] for r in created[::-1][:2]]
    assert first["next_cursor"]
    assert await all_ids(client, URL, limit=2) == [r["id"] for r in created[::-1]]


async def test_list_rejects_bad_paging_and_filter_parameters(client):
    for limit in ("101", "0", "many"):
        assert_problem(await client.get(URL, params={"limit": limit}), 422, field="limit")
    for cursor in ("garbage", "eyJhIjoxfQ"):
        assert_problem(await client.get(URL, params={"cursor": cursor}), 422, field="cursor")
    for name, value in (
        ("type", "refutes"),
        ("type", "DENIES"),
        ("source_id", "nope"),
        ("target_id", "1"),
        ("resource_id", "x"),
        ("updated_since", "yesterday"),
    ):
        assert_problem(await client.get(URL, params={name: value}), 422)


async def test_filters_by_source_target_either_end_type_and_updated_since(client):
    speaker = await create_person(client)
    denial_1 = await create_statement(client, speaker_id=speaker["id"], text="Not true.")
    denial_2 = await create_statement(client, speaker_id=speaker["id"], text="Never happened.")
    letter = await create_document(client, title="The letter")
    report = await create_document(client, title="A report")
    a = await create_relation(client, statement_ref(denial_1), document_ref(letter), "denies")
    b = await create_relation(client, statement_ref(denial_2), document_ref(letter), "denies")
    c = await create_relation(client, document_ref(report), document_ref(letter), "confirms")
    d = await create_relation(client, document_ref(letter), statement_ref(denial_1), "cites")

    assert await list_ids(client, URL, source_id=denial_1["id"]) == [a["id"]]
    assert await list_ids(client, URL, source_id=letter["id"]) == [d["id"]]
    assert await list_ids(client, URL, target_id=letter["id"]) == [c["id"], b["id"], a["id"]]
    assert await list_ids(client, URL, target_id=denial_1["id"]) == [d["id"]]
    assert await list_ids(client, URL, resource_id=denial_1["id"]) == [d["id"], a["id"]]
    assert await list_ids(client, URL, resource_id=letter["id"]) == [
        d["id"],
        c["id"],
        b["id"],
        a["id"],
    ]
    assert await list_ids(client, URL, resource_id=report["id"]) == [c["id"]]
    assert await list_ids(client, URL, type="denies") == [b["id"], a["id"]]
    assert await list_ids(client, URL, type="confirms") == [c["id"]]
    assert await list_ids(client, URL, type="retracts") == []
    # Filters combine.
    assert await list_ids(client, URL, target_id=letter["id"], type="denies") == [
        b["id"],
        a["id"],
    ]
    assert await list_ids(client, URL, resource_id=denial_2["id"], type="confirms") == []
    assert await list_ids(client, URL, source_id=MISSING_ID) == []
    assert await list_ids(client, URL, updated_since=c["updated_at"]) == [d["id"], c["id"]]
    assert await list_ids(client, URL, updated_since="2999-01-01T00:00:00Z") == []
    # A filtered list pages with its own cursor.
    assert await all_ids(client, URL, resource_id=letter["id"], limit=1) == [
        d["id"],
        c["id"],
        b["id"],
        a["id"],
    ]


# ---- the rules on the ends --------------------------------------------------------------------


async def test_a_duplicate_live_relation_is_a_409_and_changes_nothing(client, db):
    statement, letter, _ = await denial(client)
    body = {"source": statement_ref(statement), "type": "denies", "target": document_ref(letter)}
    problem = await assert_refused(client, db, "POST", URL, status=409, json=body)
    assert "live denies relation" in problem["detail"], problem
    # A different note does not make it a different relation.
    await assert_refused(client, db, "POST", URL, status=409, json={**body, "note": "Again."})


@pytest.mark.also_behind_pgbouncer
async def test_concurrent_duplicates_let_exactly_one_win(settings, db):
    n = 6
    async with concurrent_client(settings) as http:
        statement = await create_statement(http)
        letter = await create_document(http)
        body = {
            "source": statement_ref(statement),
            "type": "denies",
            "target": document_ref(letter),
        }
        # An uncommitted row with the same key holds every request at the unique index;
        # rolling it back lets all of them insert at once, past any check made before.
        blocker = db.transaction()
        await blocker.start()
        try:
            await db.execute(
                "INSERT INTO relations (source_statement_id, type, target_document_id)"
                " VALUES ($1, 'denies', $2)",
                UUID(statement["id"]),
                UUID(letter["id"]),
            )
            requests = asyncio.gather(*(http.post(URL, json=body) for _ in range(n)))
            await wait_for_lock_waiters(db, n)
        finally:
            await blocker.rollback()
        responses = await requests

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * (n - 1), statuses
    for loser in (r for r in responses if r.status_code == 409):
        # Our detail, not the generic one for any unique violation: the race was handled.
        assert "live denies relation" in assert_problem(loser, 409)["detail"]
    [winner] = [r.json() for r in responses if r.status_code == 201]
    assert await db.fetchval("SELECT count(*) FROM relations") == 1
    events = await db.fetch(
        "SELECT resource_id, action FROM events WHERE resource_type = 'relation'"
    )
    assert [(str(e["resource_id"]), e["action"]) for e in events] == [(winner["id"], "created")]


async def test_an_end_that_does_not_exist_is_a_422_naming_the_field(client, db):
    statement = await create_statement(client)
    letter = await create_document(client)
    missing = {"type": "document", "id": MISSING_ID}
    await assert_each_refused(
        client,
        db,
        [
            (
                "missing-source",
                {"source": missing, "type": "denies", "target": statement_ref(statement)},
                "source.id",
            ),
            (
                "missing-target",
                {"source": statement_ref(statement), "type": "denies", "target": missing},
                "target.id",
            ),
            # The type given picks the table: a document's id is not a statement.
            (
                "source-wrong-type",
                {"source": ref(letter, "statement"), "type": "denies", "target": missing},
                "source.id",
            ),
            (
                "target-wrong-type",
                {
                    "source": statement_ref(statement),
                    "type": "denies",
                    "target": ref(letter, "statement"),
                },
                "target.id",
            ),
        ],
    )
    problem = await assert_refused(
        client,
        db,
        "POST",
        URL,
        json={
            "source": missing,
            "type": "denies",
            "target": {"type": "statement", "id": OTHER_MISSING_ID},
        },
    )
    assert {e["field"] for e in problem["errors"]} == {"source.id", "target.id"}


async def test_a_deleted_end_is_a_422_naming_the_field(client, db):
    statement = await create_statement(client)
    letter = await create_document(client)
    await delete(client, f"/v1/documents/{letter['id']}")
    await assert_refused(
        client,
        db,
        "POST",
        URL,
        field="target.id",
        json={"source": statement_ref(statement), "type": "denies", "target": document_ref(letter)},
    )
    await assert_refused(
        client,
        db,
        "POST",
        URL,
        field="source.id",
        json={"source": document_ref(letter), "type": "cites", "target": statement_ref(statement)},
    )


async def test_a_relation_from_a_resource_to_itself_is_a_422(client, db):
    statement = await create_statement(client)
    letter = await create_document(client)
    for end in (statement_ref(statement), document_ref(letter)):
        await assert_refused(
            client,
            db,
            "POST",
            URL,
            field="target.id",
            json={"source": end, "type": "confirms", "target": end},
        )


async def test_create_rejects_bad_input_and_changes_nothing(client, db):
    statement, letter, _ = await denial(client)  # something in the tables to stay untouched
    s, d = statement_ref(statement), document_ref(letter)
    valid = {"source": d, "type": "cites", "target": s}
    await assert_each_refused(
        client,
        db,
        [
            ("empty", {}, "source"),
            ("no-source", {"type": "cites", "target": s}, "source"),
            ("no-target", {"source": d, "type": "cites"}, "target"),
            ("no-type", {"source": d, "target": s}, "type"),
            ("type-unknown", {**valid, "type": "refutes"}, "type"),
            ("type-wrong-case", {**valid, "type": "DENIES"}, "type"),
            ("type-null", {**valid, "type": None}, "type"),
            ("type-number", {**valid, "type": 1}, "type"),
            ("unknown-field", {**valid, "bogus": 1}, "bogus"),
            ("read-only-id", {**valid, "id": MISSING_ID}, "id"),
            ("read-only-version", {**valid, "version": 1}, "version"),
            ("read-only-created_at", {**valid, "created_at": "2020-01-01T00:00:00Z"}, "created_at"),
            ("read-only-updated_at", {**valid, "updated_at": "2020-01-01T00:00:00Z"}, "updated_at"),
            ("source-null", {**valid, "source": None}, "source"),
            ("source-string", {**valid, "source": letter["id"]}, "source"),
            ("source-end-type", {**valid, "source": {**d, "type": "person"}}, "source.type"),
            ("source-no-type", {**valid, "source": {"id": letter["id"]}}, "source.type"),
            ("source-bad-id", {**valid, "source": {**d, "id": "nope"}}, "source.id"),
            ("source-extra", {**valid, "source": {**d, "title": "x"}}, "source.title"),
            ("target-no-id", {**valid, "target": {"type": "statement"}}, "target.id"),
            ("target-end-type", {**valid, "target": {**s, "type": "relation"}}, "target.type"),
            ("note-number", {**valid, "note": 5}, "note"),
            ("note-too-long", {**valid, "note": "x" * 200_001}, "note"),
        ],
    )
    await assert_refused(
        client,
        db,
        "POST",
        URL,
        status=400,
        content=b'{"source": ',
        headers={"Content-Type": "application/json"},
    )
    await assert_refused(
        client,
        db,
        "POST",
        URL,
        status=415,
        content=b"source=x",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )


# ---- no edits -----------------------------------------------------------------------------------


async def test_relations_cannot_be_patched_or_put(client, db):
    _, _, relation = await denial(client)
    url = f"{URL}/{relation['id']}"
    for method in ("PATCH", "PUT"):
        await assert_refused(
            client, db, method, url, status=405, json={"note": "x"}, headers={"If-Match": "*"}
        )
    assert (await client.get(url)).json() == relation


# ---- delete and history ---------------------------------------------------------------------------


async def test_delete_requires_a_current_if_match(client, db):
    _, _, relation = await denial(client)
    url = f"{URL}/{relation['id']}"
    await assert_refused(client, db, "DELETE", url, status=428)
    await assert_refused(client, db, "DELETE", url, status=428, headers={"If-Match": " "})
    await assert_refused(client, db, "DELETE", url, status=412, headers={"If-Match": '"stale"'})
    etag = await etag_of(client, url)
    await assert_refused(client, db, "DELETE", url, status=412, headers={"If-Match": f"W/{etag}"})
    assert (await client.get(url)).status_code == 200


async def test_delete_is_soft_and_leaves_history(client, db):
    statement, letter, relation = await denial(client)
    other = await create_relation(client, document_ref(letter), statement_ref(statement), "cites")
    url = f"{URL}/{relation['id']}"
    etag = await etag_of(client, url)
    response = await client.delete(url, headers={"If-Match": etag})
    assert response.status_code == 204
    assert response.content == b""

    assert_problem(await client.get(url), 404)
    assert_problem(await client.get(url, headers={"If-None-Match": etag}), 404)
    assert await all_ids(client, URL) == [other["id"]]
    for name in ("source_id", "target_id", "resource_id"):
        assert relation["id"] not in await list_ids(client, URL, **{name: letter["id"]})
    assert await list_ids(client, URL, type="denies") == []
    events = await history(client, url)
    assert [(e["action"], e["version"]) for e in events] == [("created", 1), ("deleted", 2)]
    assert all(e["resource_id"] == relation["id"] for e in events)
    # The target no longer counts the denial.
    target = (await client.get(f"/v1/documents/{letter['id']}")).json()
    assert target["verification"]["denials"] == 0
    # Nothing is erased: the row is still there, marked deleted.
    assert await db.fetchval(
        "SELECT deleted_at IS NOT NULL FROM relations WHERE id = $1", UUID(relation["id"])
    )
    await assert_refused(client, db, "DELETE", url, status=404, headers={"If-Match": "*"})
    await assert_refused(client, db, "DELETE", url, status=404, headers={"If-Match": etag})


async def test_a_deleted_relation_can_be_created_again(client):
    statement, letter, first = await denial(client)
    await delete(client, f"{URL}/{first['id']}")
    again = await create_relation(client, statement_ref(statement), document_ref(letter))
    assert again["id"] != first["id"]
    assert await all_ids(client, URL) == [again["id"]]
    # The old one keeps its own history.
    assert [e["action"] for e in await history(client, f"{URL}/{first['id']}")] == [
        "created",
        "deleted",
    ]


async def test_history_pages_and_knows_only_relations(client):
    statement, _, relation = await denial(client)
    url = f"{URL}/{relation['id']}"
    await delete(client, url)
    first = (await client.get(f"{url}/history", params={"limit": 1})).json()
    assert [e["action"] for e in first["items"]] == ["created"]
    second = (
        await client.get(f"{url}/history", params={"limit": 1, "cursor": first["next_cursor"]})
    ).json()
    assert [e["action"] for e in second["items"]] == ["deleted"]
    assert second["next_cursor"] is None
    assert_problem(await client.get(f"{URL}/{MISSING_ID}/history"), 404)
    assert_problem(await client.get(f"{URL}/{statement['id']}/history"), 404)
    assert_problem(await client.get(f"{url}/history", params={"limit": 0}), 422, field="limit")


# ---- what the database guarantees ------------------------------------------------------------------


async def test_the_database_refuses_edits_erasure_and_malformed_ends(client, db):
    statement, letter, relation = await denial(client)
    id = UUID(relation["id"])
    s, d = UUID(statement["id"]), UUID(letter["id"])
    before = await state(db)
    with pytest.raises(asyncpg.ObjectNotInPrerequisiteStateError):
        await db.execute("UPDATE relations SET type = 'confirms' WHERE id = $1", id)
    with pytest.raises(asyncpg.ObjectNotInPrerequisiteStateError):
        await db.execute("UPDATE relations SET note = 'edited' WHERE id = $1", id)
    with pytest.raises(asyncpg.IntegrityConstraintViolationError):
        await db.execute("DELETE FROM relations WHERE id = $1", id)
    with pytest.raises(asyncpg.CheckViolationError):
        # Both source columns set.
        await db.execute(
            "INSERT INTO relations (source_statement_id, source_document_id, type,"
            " target_document_id) VALUES ($1, $2, 'cites', $2)",
            s,
            d,
        )
    with pytest.raises(asyncpg.CheckViolationError):
        # No target at all.
        await db.execute(
            "INSERT INTO relations (source_statement_id, type) VALUES ($1, 'cites')", s
        )
    with pytest.raises(asyncpg.CheckViolationError):
        # A resource related to itself.
        await db.execute(
            "INSERT INTO relations (source_document_id, type, target_document_id)"
            " VALUES ($1, 'cites', $1)",
            d,
        )
    with pytest.raises(asyncpg.UniqueViolationError):
        await db.execute(
            "INSERT INTO relations (source_statement_id, type, target_document_id)"
            " VALUES ($1, 'denies', $2)",
            s,
            d,
        )
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        await db.execute(
            "INSERT INTO relations (source_statement_id, type, target_document_id)"
            " VALUES ($1, 'denies', $2)",
            UUID(MISSING_ID),
            d,
        )
    assert await state(db) == before


async def test_the_soft_delete_bumps_the_version_and_then_freezes_the_row(client, db):
    _, _, relation = await denial(client)
    id = UUID(relation["id"])
    version = await db.fetchval(
        "UPDATE relations SET deleted_at = now() WHERE id = $1 RETURNING version", id
    )
    assert version == 2
    with pytest.raises(asyncpg.ObjectNotInPrerequisiteStateError):
        await db.execute("UPDATE relations SET deleted_at = NULL WHERE id = $1", id)


@pytest.mark.also_behind_pgbouncer
async def test_deleting_an_end_deletes_its_relations_with_events(client):
    statement, letter, relation = await denial(client)
    other = await create_statement(client)
    unrelated = await create_relation(client, statement_ref(other), document_ref(letter), "cites")
    before = (await client.get(f"/v1/documents/{letter['id']}")).json()["verification"]
    assert before["denials"] == 1

    await delete(client, f"/v1/statements/{statement['id']}")

    assert (await client.get(f"{URL}/{relation['id']}")).status_code == 404
    assert relation["id"] not in await all_ids(client, URL)
    assert [e["action"] for e in await history(client, f"{URL}/{relation['id']}")] == [
        "created",
        "deleted",
    ]
    after = (await client.get(f"/v1/documents/{letter['id']}")).json()["verification"]
    assert after["denials"] == 0
    # A relation that did not touch the deleted statement is untouched.
    assert (await client.get(f"{URL}/{unrelated['id']}")).status_code == 200


async def test_the_database_deletes_the_relations_of_a_deleted_end_with_the_same_actor(client, db):
    # Migration 0007: the cascade belongs to the database, driven by the end's `deleted`
    # event, so every way of deleting a statement or a document takes its relations along.
    statement, letter, relation = await denial(client)
    other = await create_statement(client)
    unrelated = await create_relation(client, statement_ref(other), statement_ref(statement))
    untouched = await create_relation(client, statement_ref(other), document_ref(letter), "cites")
    async with db.transaction():
        version = await db.fetchval(
            "UPDATE documents SET deleted_at = now() WHERE id = $1 RETURNING version",
            UUID(letter["id"]),
        )
        await db.execute(
            "INSERT INTO events (resource_type, resource_id, action, version, actor)"
            " VALUES ('document', $1, 'deleted', $2, 'desk-editor')",
            UUID(letter["id"]),
            version,
        )
    rows = await db.fetch(
        "SELECT resource_type::text, resource_id, action::text, version, actor FROM events"
        " WHERE action = 'deleted' ORDER BY id"
    )
    logged = [(r["resource_type"], str(r["resource_id"]), r["actor"]) for r in rows]
    # The subject's event first, then one for each relation it touched, in any order.
    assert logged[0] == ("document", letter["id"], "desk-editor")
    assert sorted(logged[1:]) == sorted(
        [("relation", relation["id"], "desk-editor"), ("relation", untouched["id"], "desk-editor")]
    )
    assert all(r["version"] == 2 for r in rows if r["resource_type"] == "relation")
    live = await db.fetch("SELECT id FROM relations WHERE deleted_at IS NULL")
    assert {str(r["id"]) for r in live} == {unrelated["id"]}
    # An event of any other kind deletes nothing.
    await db.execute(
        "INSERT INTO events (resource_type, resource_id, action, version, actor)"
        " VALUES ('statement', $1, 'updated', 9, NULL)",
        UUID(other["id"]),
    )
    assert await db.fetchval("SELECT count(*) FROM relations WHERE deleted_at IS NULL") == 1
