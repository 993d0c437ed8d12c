"""The assessment workflow draft -> published -> superseded | retracted: through HTTP
(publish, retract, supersede, preconditions, concurrent publishes, what can no longer
be edited or deleted) and directly in SQL, where the same rules hold whatever the code
above the database does."""

from __future__ import annotations

import asyncio
from datetime import datetime
from uuid import UUID

import asyncpg
import pytest

from tests.domain.assessments import (
    URL,
    assert_rejected,
    create_assessment,
    create_subject,
    publish,
    publish_ok,
    retract,
)
from tests.helpers import (
    MISSING_ID,
    assert_problem,
    concurrent_client,
    delete,
    etag_of,
    history,
)

pytestmark = pytest.mark.asyncio


def actions(events: list[dict]) -> list[tuple[str, int]]:
    return [(e["action"], e["version"]) for e in events]


async def published_assessment(client, subject_type: str = "statement") -> dict:
    draft = await create_assessment(client, await create_subject(client, subject_type))
    return await publish_ok(client, draft["id"])


# ---- publish ------------------------------------------------------------------------------


@pytest.mark.also_behind_pgbouncer
async def test_publish_a_draft(client):
    subject = await create_subject(client, "document")
    draft = await create_assessment(
        client, subject, evidence=[{"kind": "url", "url": "https://a.example"}]
    )
    url = f"{URL}/{draft['id']}"
    etag = await etag_of(client, url)
    response = await publish(client, draft["id"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["state"], body["version"]) == ("published", 2)
    assert datetime.fromisoformat(body["published_at"]) >= datetime.fromisoformat(
        draft["created_at"]
    )
    assert (body["retracted_at"], body["retraction_reason"]) == (None, None)
    # Everything else is as the draft had it.
    unchanged = {"published_at", "state", "version", "updated_at"}
    assert {k: v for k, v in body.items() if k not in unchanged} == {
        k: v for k, v in draft.items() if k not in unchanged
    }
    assert response.headers["etag"] not in (etag, None)
    got = await client.get(url)
    assert (got.json(), got.headers["etag"]) == (body, response.headers["etag"])
    events = await history(client, url)
    assert actions(events) == [("created", 1), ("published", 2)]
    assert events[1]["changed_fields"] == ["published_at", "state"]


async def test_publish_twice_is_409(client, db):
    published = await published_assessment(client)
    problem = await assert_rejected(
        client, db, "POST", f"{URL}/{published['id']}/publish", status=409
    )
    assert "published" in problem["detail"]


async def test_publish_of_an_unknown_id_is_404(client, db):
    await assert_rejected(client, db, "POST", f"{URL}/{MISSING_ID}/publish", status=404)


async def test_publish_honours_an_optional_if_match(client, db):
    draft = await create_assessment(client, await create_subject(client, "statement"))
    url = f"{URL}/{draft['id']}"
    stale = await etag_of(client, url)
    changed = await client.patch(url, json={"headline": "Changed"}, headers={"If-Match": stale})
    assert changed.status_code == 200, changed.text
    await assert_rejected(
        client, db, "POST", f"{url}/publish", status=412, headers={"If-Match": stale}
    )
    # A weak tag never matches If-Match (strong comparison).
    current = changed.headers["etag"]
    await assert_rejected(
        client, db, "POST", f"{url}/publish", status=412, headers={"If-Match": f"W/{current}"}
    )
    response = await publish(client, draft["id"], **{"If-Match": current})
    assert response.status_code == 200, response.text
    assert response.json()["state"] == "published"


async def test_publish_of_a_draft_whose_subject_was_deleted_is_409(client, db):
    subject = await create_subject(client, "statement")
    draft = await create_assessment(client, subject)
    await delete(client, f"/v1/statements/{subject['id']}")
    await assert_rejected(client, db, "POST", f"{URL}/{draft['id']}/publish", status=409)


@pytest.mark.also_behind_pgbouncer
async def test_concurrent_publishes_of_one_draft_let_exactly_one_win(client, settings):
    draft = await create_assessment(client, await create_subject(client, "statement"))
    async with concurrent_client(settings) as http:
        responses = await asyncio.gather(*(publish(http, draft["id"]) for _ in range(5)))
    assert sorted(r.status_code for r in responses) == [200, 409, 409, 409, 409]
    for loser in (r for r in responses if r.status_code != 200):
        # The service's own refusal, not the database trigger's generic one: each loser
        # waited for the row lock and then saw the state the winner left.
        assert "only a draft can be published" in assert_problem(loser, 409)["detail"]
    events = await history(client, f"{URL}/{draft['id']}")
    assert actions(events) == [("created", 1), ("published", 2)]


async def test_concurrent_publishes_with_the_same_if_match_let_exactly_one_win(client, settings):
    draft = await create_assessment(client, await create_subject(client, "document"))
    etag = await etag_of(client, f"{URL}/{draft['id']}")
    async with concurrent_client(settings) as http:
        responses = await asyncio.gather(
            *(publish(http, draft["id"], **{"If-Match": etag}) for _ in range(5))
        )
    assert sorted(r.status_code for r in responses) == [200, 412, 412, 412, 412]
    for loser in (r for r in responses if r.status_code != 200):
        assert_problem(loser, 412)
    events = await history(client, f"{URL}/{draft['id']}")
    assert actions(events) == [("created", 1), ("published", 2)]


async def test_two_successors_published_at_once_supersede_the_old_one_once(client, settings):
    subject = await create_subject(client, "statement")
    a = await publish_ok(client, (await create_assessment(client, subject))["id"])
    b = await create_assessment(client, subject, supersedes_id=a["id"])
    c = await create_assessment(client, subject, supersedes_id=a["id"])
    async with concurrent_client(settings) as http:
        responses = await asyncio.gather(publish(http, b["id"]), publish(http, c["id"]))
    assert [r.status_code for r in responses] == [200, 200]
    assert (await client.get(f"{URL}/{a['id']}")).json()["state"] == "superseded"
    assert actions(await history(client, f"{URL}/{a['id']}")) == [
        ("created", 1),
        ("published", 2),
        ("superseded", 3),
    ]


@pytest.mark.also_behind_pgbouncer
async def test_a_retraction_racing_a_supersede_leaves_one_consistent_outcome(client, settings):
    subject = await create_subject(client, "document")
    a = await publish_ok(client, (await create_assessment(client, subject))["id"])
    b = await create_assessment(client, subject, supersedes_id=a["id"])
    async with concurrent_client(settings) as http:
        retracted, published = await asyncio.gather(
            retract(http, a["id"], reason="Wrong letter"), publish(http, b["id"])
        )
    assert published.status_code == 200, published.text
    a_now = (await client.get(f"{URL}/{a['id']}")).json()
    if retracted.status_code == 200:
        assert a_now["state"] == "retracted"
        expected = [("created", 1), ("published", 2), ("retracted", 3)]
    else:
        assert_problem(retracted, 409)
        assert a_now["state"] == "superseded"
        expected = [("created", 1), ("published", 2), ("superseded", 3)]
    assert actions(await history(client, f"{URL}/{a['id']}")) == expected


# ---- retract ------------------------------------------------------------------------------


@pytest.mark.also_behind_pgbouncer
async def test_retract_a_published_assessment(client):
    published = await published_assessment(client)
    url = f"{URL}/{published['id']}"
    response = await retract(client, published["id"], reason="The quote was misattributed.")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["state"], body["version"]) == ("retracted", 3)
    assert body["retraction_reason"] == "The quote was misattributed."
    assert datetime.fromisoformat(body["retracted_at"]) >= datetime.fromisoformat(
        body["published_at"]
    )
    assert body["published_at"] == published["published_at"]
    got = await client.get(url)
    assert (got.json(), got.headers["etag"]) == (body, response.headers["etag"])
    events = await history(client, url)
    assert actions(events) == [("created", 1), ("published", 2), ("retracted", 3)]
    assert events[2]["changed_fields"] == ["retracted_at", "retraction_reason", "state"]


@pytest.mark.parametrize(
    ("request_args", "field"),
    [
        pytest.param({"json": {}}, "reason", id="no-reason"),
        pytest.param({"json": {"reason": ""}}, "reason", id="empty-reason"),
        pytest.param({"json": {"reason": "  \n "}}, "reason", id="blank-reason"),
        pytest.param({"json": {"reason": None}}, "reason", id="null-reason"),
        pytest.param({"json": {"reason": 42}}, "reason", id="number-reason"),
        pytest.param({"json": {"reason": "x" * 2001}}, "reason", id="reason-too-long"),
        pytest.param({"json": {"reason": "ok", "state": "draft"}}, "state", id="unknown-field"),
        pytest.param({}, "body", id="no-body"),
        pytest.param({"json": ["reason"]}, "body", id="array-body"),
    ],
)
async def test_retract_needs_a_reason(client, db, request_args, field):
    published = await published_assessment(client)
    await assert_rejected(
        client, db, "POST", f"{URL}/{published['id']}/retract", field=field, **request_args
    )


async def test_retract_with_a_body_that_is_not_json_is_415(client, db):
    published = await published_assessment(client)
    await assert_rejected(
        client,
        db,
        "POST",
        f"{URL}/{published['id']}/retract",
        status=415,
        content=b"reason=because",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )


async def test_retract_of_a_draft_or_a_retracted_assessment_is_409(client, db):
    draft = await create_assessment(client, await create_subject(client, "statement"))
    await assert_rejected(
        client, db, "POST", f"{URL}/{draft['id']}/retract", status=409, json={"reason": "R"}
    )
    published = await published_assessment(client)
    assert (await retract(client, published["id"])).status_code == 200
    await assert_rejected(
        client, db, "POST", f"{URL}/{published['id']}/retract", status=409, json={"reason": "R"}
    )
    await assert_rejected(client, db, "POST", f"{URL}/{published['id']}/publish", status=409)


async def test_retract_honours_an_optional_if_match(client, db):
    published = await published_assessment(client)
    url = f"{URL}/{published['id']}"
    current = await etag_of(client, url)
    await assert_rejected(
        client,
        db,
        "POST",
        f"{url}/retract",
        status=412,
        json={"reason": "R"},
        headers={"If-Match": '"stale"'},
    )
    response = await retract(client, published["id"], **{"If-Match": current})
    assert response.status_code == 200, response.text


async def test_retract_of_an_unknown_id_is_404(client, db):
    await assert_rejected(
        client, db, "POST", f"{URL}/{MISSING_ID}/retract", status=404, json={"reason": "R"}
    )


# ---- supersede ------------------------------------------------------------------------------


@pytest.mark.also_behind_pgbouncer
async def test_publishing_a_successor_supersedes_the_published_one(client):
    subject = await create_subject(client, "statement")
    a = await publish_ok(client, (await create_assessment(client, subject, verdict="false"))["id"])
    b = await create_assessment(client, subject, verdict="mostly_false", supersedes_id=a["id"])
    a_etag = await etag_of(client, f"{URL}/{a['id']}")

    published_b = await publish_ok(client, b["id"])
    assert (published_b["state"], published_b["supersedes_id"]) == ("published", a["id"])

    got_a = await client.get(f"{URL}/{a['id']}")
    body_a = got_a.json()
    assert (body_a["state"], body_a["version"]) == ("superseded", 3)
    assert body_a["published_at"] == a["published_at"]
    assert got_a.headers["etag"] != a_etag
    assert actions(await history(client, f"{URL}/{a['id']}")) == [
        ("created", 1),
        ("published", 2),
        ("superseded", 3),
    ]
    assert actions(await history(client, f"{URL}/{b['id']}")) == [("created", 1), ("published", 2)]
    # The subject's verification now speaks with the successor's verdict.
    verification = (await client.get(f"/v1/statements/{subject['id']}")).json()["verification"]
    assert (verification["assessment_id"], verification["verdict"]) == (b["id"], "mostly_false")
    # A superseded assessment is frozen: no retraction, no edit, no deletion.
    assert_problem(await retract(client, a["id"]), 409)
    assert_problem(
        await client.patch(f"{URL}/{a['id']}", json={"headline": "X"}, headers={"If-Match": "*"}),
        409,
    )
    assert_problem(await client.delete(f"{URL}/{a['id']}", headers={"If-Match": "*"}), 409)


async def test_publishing_a_successor_of_a_retracted_one_leaves_it_retracted(client):
    subject = await create_subject(client, "document")
    a = await publish_ok(client, (await create_assessment(client, subject))["id"])
    assert (await retract(client, a["id"])).status_code == 200
    b = await create_assessment(client, subject, supersedes_id=a["id"])
    await publish_ok(client, b["id"])
    assert (await client.get(f"{URL}/{a['id']}")).json()["state"] == "retracted"
    assert [e["action"] for e in await history(client, f"{URL}/{a['id']}")] == [
        "created",
        "published",
        "retracted",
    ]


async def test_supersedes_id_of_another_subject_is_422(client, db):
    a = await published_assessment(client)
    other_subject = await create_subject(client, "statement")
    body = {
        "subject": other_subject,
        "verdict": "false",
        "headline": "About something else",
        "supersedes_id": a["id"],
    }
    await assert_rejected(client, db, "POST", URL, json=body, field="supersedes_id")


async def test_a_failed_publish_does_not_supersede(client, db):
    """The supersede happens in the publish's transaction: a refused publish leaves the
    earlier assessment published."""
    subject = await create_subject(client, "statement")
    a = await publish_ok(client, (await create_assessment(client, subject))["id"])
    b = await create_assessment(client, subject, supersedes_id=a["id"])
    await assert_rejected(
        client, db, "POST", f"{URL}/{b['id']}/publish", status=412, headers={"If-Match": '"x"'}
    )
    assert (await client.get(f"{URL}/{a['id']}")).json()["state"] == "published"


# ---- what only drafts may do ---------------------------------------------------------------


async def test_patch_of_a_published_assessment_is_409(client, db):
    published = await published_assessment(client)
    url = f"{URL}/{published['id']}"
    headers = {"If-Match": await etag_of(client, url)}
    problem = await assert_rejected(
        client, db, "PATCH", url, status=409, json={"headline": "Sneaky"}, headers=headers
    )
    assert "draft" in problem["detail"]


async def test_patch_of_a_published_assessment_with_a_stale_etag_is_412(client, db):
    draft = await create_assessment(client, await create_subject(client, "statement"))
    url = f"{URL}/{draft['id']}"
    stale = await etag_of(client, url)
    await publish_ok(client, draft["id"])
    await assert_rejected(
        client, db, "PATCH", url, status=412, json={"headline": "X"}, headers={"If-Match": stale}
    )


async def test_delete_of_a_published_or_retracted_assessment_is_409(client, db):
    published = await published_assessment(client)
    url = f"{URL}/{published['id']}"
    problem = await assert_rejected(
        client, db, "DELETE", url, status=409, headers={"If-Match": await etag_of(client, url)}
    )
    assert "retract it instead" in problem["detail"]
    assert (await retract(client, published["id"])).status_code == 200
    await assert_rejected(
        client, db, "DELETE", url, status=409, headers={"If-Match": await etag_of(client, url)}
    )
    assert (await client.get(url)).status_code == 200


# ---- the same rules in SQL -------------------------------------------------------------------


async def test_sql_forbids_going_back_to_draft_or_skipping_a_state(client, db):
    published = await published_assessment(client)
    draft = await create_assessment(client, await create_subject(client, "statement"))
    with pytest.raises(asyncpg.ObjectNotInPrerequisiteStateError):
        await db.execute("UPDATE assessments SET state = 'draft' WHERE state = 'published'")
    with pytest.raises(asyncpg.ObjectNotInPrerequisiteStateError):
        await db.execute(
            "UPDATE assessments SET state = 'retracted', retracted_at = now(),"
            " retraction_reason = 'r' WHERE id = $1",
            UUID(draft["id"]),
        )
    with pytest.raises(asyncpg.ObjectNotInPrerequisiteStateError):
        await db.execute(
            "UPDATE assessments SET state = 'superseded', published_at = now() WHERE id = $1",
            UUID(draft["id"]),
        )
    assert (await client.get(f"{URL}/{published['id']}")).json() == published


async def test_sql_freezes_a_published_assessment_and_its_evidence(client, db):
    subject = await create_subject(client, "document")
    draft = await create_assessment(
        client, subject, evidence=[{"kind": "url", "url": "https://a.example"}]
    )
    published = await publish_ok(client, draft["id"])
    id = UUID(published["id"])
    with pytest.raises(asyncpg.ObjectNotInPrerequisiteStateError):
        await db.execute("UPDATE assessments SET headline = 'Rewritten' WHERE id = $1", id)
    with pytest.raises(asyncpg.ObjectNotInPrerequisiteStateError):
        await db.execute("UPDATE assessments SET published_at = now() WHERE id = $1", id)
    with pytest.raises(asyncpg.ObjectNotInPrerequisiteStateError):
        await db.execute("UPDATE assessments SET deleted_at = now() WHERE id = $1", id)
    with pytest.raises(asyncpg.ObjectNotInPrerequisiteStateError):
        await db.execute("UPDATE evidence SET note = 'changed' WHERE assessment_id = $1", id)
    with pytest.raises(asyncpg.ObjectNotInPrerequisiteStateError):
        await db.execute("DELETE FROM evidence WHERE assessment_id = $1", id)
    with pytest.raises(asyncpg.ObjectNotInPrerequisiteStateError):
        await db.execute(
            "INSERT INTO evidence (assessment_id, position, kind, url)"
            " VALUES ($1, 1, 'url', 'https://b.example')",
            id,
        )
    with pytest.raises(asyncpg.IntegrityConstraintViolationError):
        await db.execute("DELETE FROM assessments WHERE id = $1", id)
    with pytest.raises(asyncpg.CheckViolationError):
        # A retraction needs its time and its reason.
        await db.execute("UPDATE assessments SET state = 'retracted' WHERE id = $1", id)
    with pytest.raises(asyncpg.ObjectNotInPrerequisiteStateError):
        await db.execute("UPDATE assessments SET retracted_at = now() WHERE id = $1", id)
    other_draft = UUID((await create_assessment(client, subject))["id"])
    with pytest.raises(asyncpg.CheckViolationError):
        # Only a retracted assessment has a retraction time; only a draft lacks a publication.
        await db.execute("UPDATE assessments SET retracted_at = now() WHERE id = $1", other_draft)
    with pytest.raises(asyncpg.CheckViolationError):
        await db.execute("UPDATE assessments SET published_at = now() WHERE id = $1", other_draft)
    with pytest.raises(asyncpg.ObjectNotInPrerequisiteStateError):
        # An update that is no transition is an edit, even one that changes nothing.
        await db.execute("UPDATE assessments SET state = 'published' WHERE id = $1", id)
    assert (await client.get(f"{URL}/{published['id']}")).json() == published


async def test_sql_freezes_a_retracted_assessment_and_its_reason(client, db):
    subject = await create_subject(client, "statement")
    published = await publish_ok(client, (await create_assessment(client, subject))["id"])
    id = UUID(published["id"])
    retracted = await retract(client, published["id"], "Wrong reading of the record")
    assert retracted.status_code == 200
    with pytest.raises(asyncpg.ObjectNotInPrerequisiteStateError):
        await db.execute("UPDATE assessments SET retraction_reason = 'Other' WHERE id = $1", id)
    with pytest.raises(asyncpg.ObjectNotInPrerequisiteStateError):
        await db.execute("UPDATE assessments SET state = 'retracted' WHERE id = $1", id)
    with pytest.raises(asyncpg.ObjectNotInPrerequisiteStateError):
        await db.execute("UPDATE assessments SET state = 'superseded' WHERE id = $1", id)


async def test_sql_rejects_a_verdict_that_does_not_fit_the_subject(client, db):
    document = await create_subject(client, "document")
    statement = await create_subject(client, "statement")
    with pytest.raises(asyncpg.CheckViolationError) as raised:
        await db.execute(
            "INSERT INTO assessments (subject_document_id, verdict, headline)"
            " VALUES ($1, 'false', 'A statement verdict on a document')",
            UUID(document["id"]),
        )
    assert raised.value.constraint_name == "verdict_fits_subject"
    with pytest.raises(asyncpg.CheckViolationError):
        await db.execute(
            "INSERT INTO assessments (subject_statement_id, verdict, headline)"
            " VALUES ($1, 'authentic', 'A document verdict on a statement')",
            UUID(statement["id"]),
        )
    draft = await create_assessment(client, document)
    with pytest.raises(asyncpg.CheckViolationError):
        await db.execute(
            "UPDATE assessments SET verdict = 'mostly_true' WHERE id = $1", UUID(draft["id"])
        )


async def test_sql_lets_a_draft_change_and_counts_its_versions(client, db):
    """The triggers stop non-drafts only: a draft's content and evidence can change, and
    every change bumps the version."""
    draft = await create_assessment(
        client,
        await create_subject(client, "statement"),
        evidence=[{"kind": "url", "url": "https://a.example"}],
    )
    id = UUID(draft["id"])
    await db.execute("UPDATE assessments SET headline = 'Reworded' WHERE id = $1", id)
    await db.execute("UPDATE evidence SET note = 'n' WHERE assessment_id = $1", id)
    assert await db.fetchval("SELECT version FROM assessments WHERE id = $1", id) == 2


# ---- the whole story in history --------------------------------------------------------------


async def test_history_shows_every_kind_of_change(client):
    subject = await create_subject(client, "statement")
    a = await create_assessment(client, subject)
    url_a = f"{URL}/{a['id']}"
    assert (
        await client.patch(url_a, json={"headline": "Better"}, headers={"If-Match": "*"})
    ).status_code == 200
    await publish_ok(client, a["id"])
    b = await create_assessment(client, subject, supersedes_id=a["id"])
    await publish_ok(client, b["id"])
    assert (await retract(client, b["id"])).status_code == 200
    c = await create_assessment(client, subject)
    await delete(client, f"{URL}/{c['id']}")

    assert actions(await history(client, url_a)) == [
        ("created", 1),
        ("updated", 2),
        ("published", 3),
        ("superseded", 4),
    ]
    assert actions(await history(client, f"{URL}/{b['id']}")) == [
        ("created", 1),
        ("published", 2),
        ("retracted", 3),
    ]
    assert actions(await history(client, f"{URL}/{c['id']}")) == [("created", 1), ("deleted", 2)]
