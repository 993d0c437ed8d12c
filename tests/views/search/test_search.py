"""Ranked full-text search: what people type, odd input, snippets, and the indexes."""

from __future__ import annotations

import uuid

import pytest

from tests.helpers import allow_bulk_loads, create_document, create_person, create_statement

pytestmark = pytest.mark.asyncio


@pytest.fixture
async def corpus(client):
    esper = await create_person(client, name="Mark Esper", aliases=["@EsperDoD"])
    milley = await create_person(client, name="Mark Milley")
    denial = await create_statement(
        client,
        speaker_id=esper["id"],
        text="There's been no decision whatsoever to leave Iraq.",
        context="Asked about the leaked letter on withdrawal.",
    )
    draft = await create_statement(
        client,
        speaker_id=milley["id"],
        text="That letter is a draft, it was a mistake, it should not have been released.",
    )
    letter = await create_document(
        client,
        title="Letter on onward movement out of Iraq",
        summary="U.S. forces will prepare for onward movement.",
        body_text="We respect your sovereign decision to order our departure.",
    )
    return {"denial": denial, "draft": draft, "letter": letter}


async def search(client, q, **params):
    response = await client.get("/v1/search", params={"q": q, **params})
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.also_behind_pgbouncer
async def test_finds_statements_and_documents_best_first(client, corpus):
    hits = (await search(client, "letter"))["items"]
    ids = [h["id"] for h in hits]
    assert set(ids) == {corpus["denial"]["id"], corpus["draft"]["id"], corpus["letter"]["id"]}
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
    document = next(h for h in hits if h["type"] == "document")
    assert "<mark>Letter</mark>" in document["snippet"]
    assert document["item"]["verification"]["status"] == "unassessed"
    # A statement mentioning the letter only in its context (weight B) ranks below
    # those that carry the word in their quote or title (weight A).
    assert hits[-1]["id"] == corpus["denial"]["id"]


async def test_statements_match_their_speakers_name(client, corpus):
    hits = (await search(client, "Milley", types="statement"))["items"]
    assert [h["id"] for h in hits] == [corpus["draft"]["id"]]
    assert hits[0]["item"]["speaker"]["name"] == "Mark Milley"


async def test_web_search_syntax(client, corpus):
    phrase = await search(client, '"sovereign decision"')
    assert [h["id"] for h in phrase["items"]] == [corpus["letter"]["id"]]
    excluded = await search(client, "letter -draft -sovereign")
    assert [h["id"] for h in excluded["items"]] == [corpus["denial"]["id"]]
    either = await search(client, "mistake or departure")
    assert {h["id"] for h in either["items"]} == {corpus["draft"]["id"], corpus["letter"]["id"]}


async def test_types_filter_and_paging(client, corpus):
    documents = await search(client, "letter", types="document")
    assert {h["type"] for h in documents["items"]} == {"document"}
    first = await search(client, "letter", limit=2)
    assert len(first["items"]) == 2 and first["next_cursor"]
    second = await search(client, "letter", limit=2, cursor=first["next_cursor"])
    seen = [h["id"] for h in first["items"] + second["items"]]
    assert len(seen) == len(set(seen)) == 3 and second["next_cursor"] is None


@pytest.mark.parametrize(
    "q",
    [
        "",
        "   ",
        "-",
        "or",
        '"',
        "!!! && || ::",
        "-letter",
        "'; DROP TABLE statements; --",
        "Ирак 伊拉克 العراق 🇮🇶",
        "\u0000\u0002",
        "letter " * 1500,  # about 10 kB
    ],
)
async def test_odd_input_never_errors(client, corpus, q):
    response = await client.get("/v1/search", params={"q": q})
    assert response.status_code in (200, 422), response.text
    if response.status_code == 422:
        assert response.headers["content-type"].startswith("application/problem+json")
    else:
        assert isinstance(response.json()["items"], list)


async def test_stored_markup_comes_back_escaped(client, corpus):
    person = await create_person(client)
    await create_statement(
        client, speaker_id=person["id"], text='alert if 1 < 2 & "x" > y, said <b>he</b>'
    )
    hits = (await search(client, "alert"))["items"]
    assert hits, "the statement should match"
    snippet = hits[0]["snippet"]
    assert "<mark>alert</mark>" in snippet
    assert "&lt;" in snippet and "&amp;" in snippet and "&gt;" in snippet
    # The only markup in a snippet is ours.
    assert snippet.replace("<mark>", "").replace("</mark>", "").count("<") == 0


async def test_bad_types_and_missing_q_are_422(client):
    bad = await client.get("/v1/search", params={"q": "x", "types": "statement,person"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "types"
    missing = await client.get("/v1/search")
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "q"


async def test_search_and_filters_use_their_indexes(db):
    """On a corpus big enough for the planner to care, q uses the GIN indexes."""
    await allow_bulk_loads(db)
    async with db.transaction():
        speaker = await db.fetchval("INSERT INTO people (name) VALUES ('Speaker') RETURNING id")
        await db.execute(
            """INSERT INTO statements (speaker_id, text, context, tags)
               SELECT $1, 'statement number ' || i || ' about topic' || (i % 1000),
                      'context ' || i, ARRAY['tag' || (i % 50)]
               FROM generate_series(1, 30000) AS i""",
            speaker,
        )
        await db.execute(
            "INSERT INTO people (name) SELECT 'Person ' || i FROM generate_series(1, 3000) i"
        )
        await db.execute(
            """INSERT INTO documents (title, summary)
               SELECT 'Document ' || i, 'about topic' || (i % 500) FROM generate_series(1, 5000) i"""
        )
    # VACUUM moves the fresh rows out of the GIN pending lists, as autovacuum would.
    await db.execute("VACUUM ANALYZE")
    from service.views.search.repository import SEARCH
    from service.web.auth import Audience

    async def plan_of(q: str, phrases: str) -> str:
        return "\n".join(
            r[0]
            for r in await db.fetch(
                "EXPLAIN "
                + SEARCH[Audience.PUBLIC]
                .replace("$1", q)
                .replace("$2", "true")
                .replace("$3", "true")
                .replace("$4::real", "NULL::real")
                .replace("$5::uuid", "NULL::uuid")
                .replace("$6", "25")
                .replace("$7::text[]", "'{}'::text[]")
                .replace("$8::text", "NULL::text")
                .replace("$8", "NULL")
                .replace("$9::text[]", phrases)
            )
        )

    plan = await plan_of("'topic7'", "'{}'::text[]")
    assert "statements_search " in plan, plan
    assert "documents_search " in plan, plan
    assert "people_names_search" in plan, plan
    # A phrase is looked up by its word pairs (migration 0018).
    plan = await plan_of("'\"about topic7\"'", "'{about topic7}'::text[]")
    assert "statements_search_pairs" in plan, plan
    assert "documents_search_pairs" in plan, plan

    tag_plan = "\n".join(
        r[0]
        for r in await db.fetch(
            "EXPLAIN SELECT id FROM statements s WHERE s.deleted_at IS NULL AND s.tags @> ARRAY['tag7']"
        )
    )
    assert "statements_tags" in tag_plan, tag_plan


async def _all_pages(client, q, **params):
    """Every hit of a search, following next_cursor to the end."""
    hits, cursor = [], None
    while True:
        page = await search(client, q, **params, **({"cursor": cursor} if cursor else {}))
        hits.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return hits


async def test_a_search_ranks_its_newest_matches_and_pages_through_them(client, db):
    """Stage 1 keeps the CANDIDATES newest matches of each kind, whichever way it finds
    them: the walk of the newest statements (a word in every row), the GIN index after
    the probe finds the word rare (a word only in old rows, which no walk reaches), or
    the GIN index after a walk that came up short (a word common among the newest few
    and nowhere else). The pages of one search go through that set once each, best
    first."""
    from service.views.search.repository import CANDIDATES, PROBED, WALKED

    rows = WALKED * 2
    bygone = CANDIDATES * 3
    speaker = await db.fetchval("INSERT INTO people (name) VALUES ('Speaker') RETURNING id")
    await db.execute(
        """INSERT INTO statements (speaker_id, text, said_at)
           SELECT $1, 'everywhere ' || CASE WHEN i <= $3 THEN 'bygone ' ELSE '' END
                      || CASE WHEN i > $2 - $4 AND i % 10 = 0 THEN 'lately ' ELSE '' END || i,
                  timestamptz '2001-01-01T00:00:00Z' + i * interval '1 day'
           FROM generate_series(1, $2) AS i""",
        speaker,
        rows,
        bygone,
        PROBED,
    )
    for word, matches in (("everywhere", rows), ("bygone", bygone), ("lately", PROBED // 10)):
        expected = {
            str(r["id"])
            for r in await db.fetch(
                """SELECT id FROM statements WHERE text LIKE '%' || $1 || ' %'
                   ORDER BY said_at DESC LIMIT $2""",
                word,
                CANDIDATES,
            )
        }
        assert len(expected) == min(CANDIDATES, matches)
        hits = await _all_pages(client, word, types="statement", limit=40)
        ids = [hit["id"] for hit in hits]
        assert len(ids) == len(set(ids)) == len(expected), word
        assert set(ids) == expected, word
        scores = [hit["score"] for hit in hits]
        assert scores == sorted(scores, reverse=True), word


async def test_a_document_matches_on_its_whole_body_and_ranks_on_its_lead(client):
    # The word is past the 2,000 characters of the body that ranking reads.
    deep = await create_document(
        client, title="Annual report", body_text="filler words " * 300 + "quokka sighting"
    )
    titled = await create_document(client, title="Quokka sighting", summary="On an island.")
    hits = (await search(client, "quokka"))["items"]
    assert [hit["id"] for hit in hits] == [titled["id"], deep["id"]]
    assert "<mark>quokka</mark>" in hits[1]["snippet"].lower()


async def test_the_newest_matches_come_from_a_recency_window_when_one_holds_them(client, db):
    """`search_newest` (migration 0017) answers from the newest 1 % of the rows, or from
    a window sized by the rate it found there, only when that window holds enough
    matches, and then with the same set as a scan of every match; otherwise NULL (the
    search's bitmap scan of every match answers). A word in every 30th statement is
    one the probe calls rare (6 of the newest 200) and a 10 % window holds 100 of."""
    from service.views.search.repository import CANDIDATES

    rows = 50_000
    await allow_bulk_loads(db)
    speaker = await db.fetchval("INSERT INTO people (name) VALUES ('Speaker') RETURNING id")
    other = await db.fetchval("INSERT INTO people (name) VALUES ('Other') RETURNING id")
    await db.execute(
        """INSERT INTO statements (speaker_id, text, said_at)
           SELECT CASE WHEN i % 20 = 0 THEN $2::uuid ELSE $1::uuid END,
                  'filler ' || CASE WHEN i % 30 = 0 THEN 'sometimes ' ELSE '' END
                  || CASE WHEN i <= 500 THEN 'ancient ' ELSE '' END || i,
                  timestamptz '2001-01-01T00:00:00Z' + i * interval '1 hour'
           FROM generate_series(1, $3) AS i""",
        speaker,
        other,
        rows,
    )
    await db.execute(
        """INSERT INTO documents (title, dated_on)
           SELECT 'Document ' || CASE WHEN i % 20 = 0 THEN 'occasional ' ELSE '' END || i,
                  date '2001-01-01' + i
           FROM generate_series(1, 2000) AS i"""
    )
    await db.execute("VACUUM ANALYZE statements, documents")

    async def newest(kind, tsq, speakers, wanted):
        return await db.fetchval(
            "SELECT search_newest($1, to_tsquery('english', $2), $3, true, NULL, $4)",
            kind,
            tsq,
            speakers,
            wanted,
        )

    async def exact(table, condition, arg, wanted):
        return {
            r["id"]
            for r in await db.fetch(
                f"""SELECT id FROM {table} WHERE deleted_at IS NULL AND {condition}
                    ORDER BY search_recency DESC, id DESC LIMIT $2""",
                arg,
                wanted,
            )
        }

    sometimes = await newest("statements", "sometimes", None, CANDIDATES)
    assert sometimes is not None and len(sometimes) == CANDIDATES
    assert set(sometimes) == await exact(
        "statements", "search @@ to_tsquery('english', $1)", "sometimes", CANDIDATES
    )
    spoken = await newest("statements", None, [other], CANDIDATES)
    assert spoken is not None
    assert set(spoken) == await exact("statements", "speaker_id = $1", other, CANDIDATES)
    occasional = await newest("documents", "occasional", None, 5)
    assert occasional is not None
    assert set(occasional) == await exact(
        "documents", "search @@ to_tsquery('english', $1)", "occasional", 5
    )
    # Only in the oldest rows, and a phrase: no window answers.
    assert await newest("statements", "ancient", None, CANDIDATES) is None
    assert await newest("statements", "filler <-> sometimes", None, CANDIDATES) is None

    # Through the API, whichever path answers, the pages go through the same set once.
    for word in ("sometimes", "ancient", '"filler sometimes"'):
        hits = await _all_pages(client, word, types="statement", limit=40)
        ids = [hit["id"] for hit in hits]
        assert len(ids) == len(set(ids)) == CANDIDATES, word
        # The set is the definition's: the newest matches of the query itself (a phrase
        # is found through its word pairs, migration 0018).
        assert {uuid.UUID(i) for i in ids} == await exact(
            "statements", "search @@ search_query($1, '{}')", word, CANDIDATES
        ), word
