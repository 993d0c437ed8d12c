"""The maintained verification (the `verifications` read model, migration 0016) always
equals the definition computed from scratch, for the newsroom and for the public.

A property test drives random sequences of the writes that can move it through the
HTTP API, and after each step compares every statement's and document's maintained
object with `verifications_from_scratch`, for both audiences. Then two writers at once on
one subject must neither deadlock nor leave a stale row.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import hypothesis
import pytest
from hypothesis import strategies as st

from service.domain.verification import from_scratch_json, verification_json
from tests.helpers import concurrent_client, create, create_person, etag_of

pytestmark = pytest.mark.asyncio

# Every statement and document, the deleted ones too: their rows are kept current as well.
COMPARE = f"""
SELECT s.id,
    {verification_json("s.id")}::jsonb AS newsroom,
    {from_scratch_json("s.id")}::jsonb AS newsroom_from_scratch,
    {verification_json("s.id", public=True)}::jsonb AS public,
    {from_scratch_json("s.id", public=True)}::jsonb AS public_from_scratch
FROM (SELECT id FROM statements UNION ALL SELECT id FROM documents) AS s
"""

STATEMENT_VERDICTS = ["true", "mostly_false", "false"]
DOCUMENT_VERDICTS = ["authentic", "disputed", "fabricated"]

# Mostly one of the newest rows (what a newsroom acts on next), sometimes any.
pick = st.one_of(st.integers(min_value=0, max_value=2), st.integers(min_value=0, max_value=1_000))
visibility = st.sampled_from(["public", "internal"])
evidence = st.lists(
    st.tuples(pick, st.sampled_from(["supports", "supports", "refutes"])), max_size=3
)

# The writes, each with what it needs drawn; a step names the rows it touches by a
# number taken modulo how many there are, newest first, so that it shrinks well.
STEPS = {
    "statement": st.tuples(st.just("statement"), visibility),
    "document": st.tuples(st.just("document"), visibility),
    "organization": st.tuples(st.just("organization")),
    "assess": st.tuples(st.just("assess"), pick, pick, evidence, st.booleans()),
    "publish": st.tuples(st.just("publish"), pick),
    "retract": st.tuples(st.just("retract"), pick),
    "delete_assessment": st.tuples(st.just("delete_assessment"), pick),
    "evidence": st.tuples(st.just("evidence"), pick, evidence),
    "relate": st.tuples(
        st.just("relate"), pick, pick, st.sampled_from(["denies", "denies", "confirms"])
    ),
    "unrelate": st.tuples(st.just("unrelate"), pick),
    "visibility": st.tuples(st.just("visibility"), pick, visibility),
    "hide_source": st.tuples(st.just("hide_source"), pick, visibility),
    "delete_subject": st.tuples(st.just("delete_subject"), pick),
    "delete_organization": st.tuples(st.just("delete_organization"), pick),
}


@dataclass
class World:
    """What one sequence created, so that later steps can name it."""

    speaker: str
    subjects: list[tuple[str, str]] = field(default_factory=list)  # (type, id)
    organizations: list[str] = field(default_factory=list)
    drafts: list[str] = field(default_factory=list)
    published: list[str] = field(default_factory=list)
    relations: list[str] = field(default_factory=list)
    sources: list[tuple[str, str]] = field(default_factory=list)  # of those relations


def _possible(world: World) -> list[str]:
    """The steps that have something to act on. Hypothesis favours the start of the
    list, so the writes that move a verification come first, and creations last."""
    kinds = []
    if world.drafts:
        kinds += ["publish", "publish", "delete_assessment", "evidence"]
    if world.published:
        kinds += ["retract"]
    if len(world.subjects) > 1:
        kinds += ["relate", "relate"]
    if world.subjects:
        kinds += ["assess", "assess", "visibility", "visibility", "delete_subject"]
    if world.relations:
        kinds += ["unrelate", "hide_source"]
    if world.organizations:
        kinds += ["delete_organization"]
    return [*kinds, "statement", "document", "organization"]


def _chosen(items: list[Any], n: int) -> Any:
    """The n-th newest item (small numbers are drawn most: mostly what was just made)."""
    return items[-1 - n % len(items)] if items else None


def _evidence(world: World, items: list[tuple[int, str]]) -> list[dict[str, Any]]:
    if not world.organizations:
        return []
    return [
        {"kind": "confirmation", "organization_id": _chosen(world.organizations, n), "stance": s}
        for n, s in items
    ]


def _url(subject: tuple[str, str]) -> str:
    return f"/v1/{subject[0]}s/{subject[1]}"


async def _with_etag(client: Any, method: str, url: str, body: Any = None) -> Any:
    response = await client.get(url)
    if response.status_code != 200:
        return response
    headers = {"If-Match": response.headers["etag"]}
    if method == "PATCH":
        return await client.patch(url, json=body, headers=headers)
    return await client.delete(url, headers=headers)


async def _apply(client: Any, world: World, action: tuple[Any, ...]) -> Any:
    """Run one step through the API; returns the response (None when nothing to do)."""
    kind = action[0]
    if kind == "statement":
        body = {"speaker_id": world.speaker, "text": "No decision.", "visibility": action[1]}
        response = await client.post("/v1/statements", json=body)
        world.subjects.append(("statement", response.json()["id"]))
    elif kind == "document":
        response = await client.post(
            "/v1/documents", json={"title": "The letter", "visibility": action[1]}
        )
        world.subjects.append(("document", response.json()["id"]))
    elif kind == "organization":
        response = await client.post("/v1/organizations", json={"name": "Reuters"})
        world.organizations.append(response.json()["id"])
    elif kind == "assess":
        _, n, verdict_n, items, supersede = action
        if not (subject := _chosen(world.subjects, n)):
            return None
        verdicts = STATEMENT_VERDICTS if subject[0] == "statement" else DOCUMENT_VERDICTS
        body: dict[str, Any] = {
            "subject": {"type": subject[0], "id": subject[1]},
            "verdict": verdicts[verdict_n % len(verdicts)],
            "headline": "A verdict",
            "evidence": _evidence(world, items),
        }
        if supersede:  # a new verdict usually replaces the current one
            current = (await client.get(_url(subject))).json().get("verification", {})
            if current.get("assessment_id"):
                body["supersedes_id"] = current["assessment_id"]
        response = await client.post("/v1/assessments", json=body)
        if response.status_code == 201:
            world.drafts.append(response.json()["id"])
    elif kind == "publish":
        assessment = _chosen(world.drafts, action[1])
        response = await client.post(f"/v1/assessments/{assessment}/publish")
        if response.status_code == 200:
            world.drafts.remove(assessment)
            world.published.append(assessment)
    elif kind == "retract":
        assessment = _chosen(world.published, action[1])
        body = {"reason": "A source recanted."}
        response = await client.post(f"/v1/assessments/{assessment}/retract", json=body)
        if response.status_code == 200:
            world.published.remove(assessment)
    elif kind == "delete_assessment":
        assessment = _chosen(world.drafts, action[1])
        response = await _with_etag(client, "DELETE", f"/v1/assessments/{assessment}")
        if response.status_code == 204:
            world.drafts.remove(assessment)
    elif kind == "evidence":
        # Mostly a draft's (a published assessment's evidence is frozen: 409).
        assessment = _chosen(world.drafts, action[1])
        response = await _with_etag(
            client,
            "PATCH",
            f"/v1/assessments/{assessment}",
            {"evidence": _evidence(world, action[2])},
        )
    elif kind == "relate":
        source = _chosen(world.subjects, action[1])
        target = _chosen(world.subjects, action[2])
        if source == target:  # a relation has two ends
            target = _chosen(world.subjects, action[2] + 1)
        body = {
            "source": {"type": source[0], "id": source[1]},
            "type": action[3],
            "target": {"type": target[0], "id": target[1]},
        }
        response = await client.post("/v1/relations", json=body)
        if response.status_code == 201:
            world.relations.append(response.json()["id"])
            world.sources.append(source)
    elif kind == "unrelate":
        if not (relation := _chosen(world.relations, action[1])):
            return None
        response = await _with_etag(client, "DELETE", f"/v1/relations/{relation}")
    elif kind == "hide_source":  # a denial made internal, or public again
        subject = _chosen(world.sources, action[1])
        response = await _with_etag(client, "PATCH", _url(subject), {"visibility": action[2]})
    elif kind == "visibility":
        if not (subject := _chosen(world.subjects, action[1])):
            return None
        response = await _with_etag(client, "PATCH", _url(subject), {"visibility": action[2]})
    elif kind == "delete_subject":
        if not (subject := _chosen(world.subjects, action[1])):
            return None
        response = await _with_etag(client, "DELETE", _url(subject))
    else:
        if not (organization := _chosen(world.organizations, action[1])):
            return None
        response = await _with_etag(client, "DELETE", f"/v1/organizations/{organization}")
    # A step may be refused (a deleted subject, a published assessment's evidence), but
    # never with a server error.
    assert response.status_code < 500, (action, response.text)
    return response


async def _assert_maintained(db: Any, after: Any) -> None:
    for row in await db.fetch(COMPARE):
        assert row["newsroom"] == row["newsroom_from_scratch"], (after, row["id"])
        assert row["public"] == row["public_from_scratch"], (after, row["id"])


@hypothesis.settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        hypothesis.HealthCheck.function_scoped_fixture,
        hypothesis.HealthCheck.too_slow,
    ],
)
@hypothesis.given(data=st.data())
async def test_maintained_verification_equals_the_definition(client, db, data):
    # Sequences share the test's database; each builds on subjects of its own, and the
    # comparison covers every subject there is.
    world = World(speaker=(await create_person(client))["id"])
    for _ in range(data.draw(st.integers(min_value=5, max_value=30), label="steps")):
        action = data.draw(STEPS[data.draw(st.sampled_from(_possible(world)))])
        await _apply(client, world, action)
        await _assert_maintained(db, action)


async def test_the_read_model_survives_concurrent_writers(settings, client, db):
    """Writers on one subject at once (denials added, verdicts published and retracted)
    queue on its row: no deadlock, no error, and the row ends equal to the definition."""
    letter = await create(client, "documents", {"title": "The letter"})
    speaker = (await create_person(client))["id"]
    deniers = [
        (await create(client, "statements", {"speaker_id": speaker, "text": f"No {i}."}))["id"]
        for i in range(8)
    ]
    drafts = [
        (
            await create(
                client,
                "assessments",
                {
                    "subject": {"type": "document", "id": letter["id"]},
                    "verdict": "authentic",
                    "headline": f"Verdict {i}",
                },
            )
        )["id"]
        for i in range(4)
    ]

    async with concurrent_client(settings) as http:

        async def deny(source: str) -> int:
            body = {
                "source": {"type": "statement", "id": source},
                "type": "denies",
                "target": {"type": "document", "id": letter["id"]},
            }
            return (await http.post("/v1/relations", json=body)).status_code

        async def publish(draft: str) -> int:
            return (await http.post(f"/v1/assessments/{draft}/publish")).status_code

        statuses = await asyncio.gather(*(deny(s) for s in deniers), *(publish(d) for d in drafts))
        assert statuses == [201] * len(deniers) + [200] * len(drafts)

        async def delete_denier(source: str) -> int:
            url = f"/v1/statements/{source}"
            etag = await etag_of(http, url)
            return (await http.delete(url, headers={"If-Match": etag})).status_code

        async def retract(draft: str) -> int:
            response = await http.post(f"/v1/assessments/{draft}/retract", json={"reason": "No."})
            return response.status_code

        statuses = await asyncio.gather(
            *(delete_denier(s) for s in deniers[:4]), *(retract(d) for d in drafts[:2])
        )
        assert statuses == [204] * 4 + [200] * 2

    await _assert_maintained(db, "concurrent writers")
    shown = (await client.get(f"/v1/documents/{letter['id']}")).json()["verification"]
    assert shown["denials"] == 4
    assert shown["assessment_id"] in drafts[2:]


async def test_a_writer_that_waited_recomputes_with_what_the_other_committed(
    client, db, database_url
):
    """Two transactions deny one document at once: the second waits for the first's
    lock on the row, then counts both denials (a recompute from its own earlier
    snapshot would count one and leave the row stale)."""
    letter = await create(client, "documents", {"title": "The letter"})
    speaker = (await create_person(client))["id"]
    first, second = [
        (await create(client, "statements", {"speaker_id": speaker, "text": "No."}))["id"]
        for _ in range(2)
    ]
    deny = """INSERT INTO relations (source_statement_id, type, target_document_id)
              VALUES ($1, 'denies', $2)"""
    other = await asyncpg.connect(database_url)
    try:
        await db.execute("BEGIN")
        await db.execute(deny, first, letter["id"])
        await other.execute("BEGIN")
        waiting = asyncio.create_task(other.execute(deny, second, letter["id"]))
        await asyncio.sleep(0.3)
        assert not waiting.done(), "the second writer did not wait for the first"
        await db.execute("COMMIT")
        await waiting
        await other.execute("COMMIT")
    finally:
        await other.close()
    await _assert_maintained(db, "two denials at once")
    shown = (await client.get(f"/v1/documents/{letter['id']}")).json()["verification"]
    assert shown["denials"] == 2


async def test_retracting_the_current_verdict_while_another_is_locked_does_not_wait(
    client, db, database_url
):
    """Retracting the current verdict makes the older one current: the read model's
    foreign key to it takes a key-share lock on that assessment. An editor holding the
    older one (locked for its own retraction, as the service locks before it writes)
    must not block that, or the two deadlock once the editor's trigger waits on the
    subject's row."""
    from service.domain.assessments.repository import assessments

    letter = await create(client, "documents", {"title": "The letter"})
    older, newer = [
        (
            await create(
                client,
                "assessments",
                {
                    "subject": {"type": "document", "id": letter["id"]},
                    "verdict": verdict,
                    "headline": f"Rated {verdict}",
                },
            )
        )["id"]
        for verdict in ("authentic", "disputed")
    ]
    for draft in (older, newer):
        assert (await client.post(f"/v1/assessments/{draft}/publish")).status_code == 200
    other = await asyncpg.connect(database_url)
    try:
        await other.execute("BEGIN")
        assert await assessments.get(other, older, lock=True) is not None
        await db.execute("BEGIN")
        retract = db.execute(
            "UPDATE assessments SET state = 'retracted', retracted_at = now(),"
            " retraction_reason = 'No.' WHERE id = $1",
            newer,
        )
        await asyncio.wait_for(retract, timeout=2)
        await db.execute("COMMIT")
        await other.execute("ROLLBACK")
    finally:
        await other.close()
    shown = (await client.get(f"/v1/documents/{letter['id']}")).json()["verification"]
    assert shown["assessment_id"] == older
