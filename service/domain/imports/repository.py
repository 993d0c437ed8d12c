"""SQL of the ClaimReview import: each step is one statement over a whole batch of
reviews (arrays unnested in their order), so that a batch costs a fixed number of round
trips however many reviews it holds."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from asyncpg import Record

from service.kit.db import Connection

# Imports run one at a time (a transaction-scoped lock): two feeds naming the same new
# outlet or claimant must not both create it.
LOCK = "SELECT pg_advisory_xact_lock(hashtext('claimreview_import'), 0)"

KNOWN_REVIEWS = """
SELECT review_url, statement_id, assessment_id FROM claimreview_imports
WHERE review_url = ANY($1::text[])
"""

# The oldest live row of `table` meeting `condition`, share-locked (it cannot be deleted
# before this commits). OFFSET 0 keeps the planner from walking the table's creation-order
# index in search of the first match: it finds the matches by their own index, then sorts
# those few.
_OLDEST = """(SELECT m.id FROM (
            SELECT {alias}.id, {alias}.created_at FROM {table} {alias}
            WHERE {alias}.deleted_at IS NULL AND {condition} OFFSET 0 FOR SHARE) AS m
         ORDER BY m.created_at, m.id LIMIT 1)"""

# Each wanted row: the row it matches, else its new id, inserted. The answer keeps the
# input's order.
ORGANIZATIONS = f"""
WITH found AS (
    SELECT w.*, coalesce(
        {
    _OLDEST.format(
        alias="o",
        table="organizations",
        condition=(
            "w.url IS NOT NULL AND o.url IS NOT NULL"
            " AND rtrim(lower(o.url), '/') = rtrim(lower(w.url), '/')"
        ),
    )
},
        {
    _OLDEST.format(alias="o", table="organizations", condition="lower(o.name) = lower(w.name)")
}
    ) AS id
    FROM unnest($1::text[], $2::text[], $3::uuid[]) WITH ORDINALITY AS w (name, url, new_id, ord)
), created AS (
    INSERT INTO organizations (id, name, kind, url)
    SELECT new_id, name, 'news_outlet', url FROM found WHERE id IS NULL ORDER BY ord
    RETURNING id
)
SELECT coalesce(f.id, f.new_id) AS id, f.id IS NULL AS created FROM found f ORDER BY f.ord
"""

# `same_as` travels as one JSON array per person: arrays of arrays must be rectangular.
PEOPLE = f"""
WITH wanted AS (
    SELECT w.name, w.new_id, w.description, w.ord,
           ARRAY(SELECT jsonb_array_elements_text(w.same_as::jsonb)) AS same_as
    FROM unnest($1::text[], $2::text[], $3::uuid[], $4::text[])
        WITH ORDINALITY AS w (name, same_as, new_id, description, ord)
), found AS (
    SELECT w.*, coalesce(
        {
    _OLDEST.format(
        alias="p",
        table="people",
        condition=("cardinality(w.same_as) > 0 AND p.same_as && w.same_as"),
    )
},
        {_OLDEST.format(alias="p", table="people", condition="lower(p.name) = lower(w.name)")}
    ) AS id
    FROM wanted w
), created AS (
    INSERT INTO people (id, name, description, same_as)
    SELECT new_id, name, description, same_as FROM found WHERE id IS NULL ORDER BY ord
    RETURNING id
)
SELECT coalesce(f.id, f.new_id) AS id, f.id IS NULL AS created FROM found f ORDER BY f.ord
"""

# The same claim by the same speaker is the same statement, whatever its case (and its
# spacing, which the import collapses in what it reads): `statements_claim_key`, migration
# 0014, whose digest holds the speaker too. No ORDER BY:
# a plan in creation order would walk every statement of a prolific speaker.
STATEMENTS = """
WITH found AS (
    SELECT w.*,
        (SELECT s.id FROM statements s
         WHERE s.deleted_at IS NULL
           AND md5(s.speaker_id::text || '|' || lower(s.text))
               = md5(w.speaker_id::text || '|' || lower(w.text))
           AND lower(s.text) = lower(w.text)
         LIMIT 1 FOR SHARE) AS id
    FROM unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::text[], $5::uuid[])
        WITH ORDINALITY AS w (speaker_id, text, said_at, language, new_id, ord)
), created AS (
    INSERT INTO statements (id, speaker_id, text, said_at, language)
    SELECT new_id, speaker_id, text, said_at, language FROM found WHERE id IS NULL ORDER BY ord
    RETURNING id
)
SELECT coalesce(f.id, f.new_id) AS id, f.id IS NULL AS created FROM found f ORDER BY f.ord
"""

APPEARANCES = """
INSERT INTO appearances (statement_id, position, url, published_at)
SELECT * FROM unnest($1::uuid[], $2::smallint[], $3::text[], $4::timestamptz[])
"""

ASSESSMENTS = """
INSERT INTO assessments (id, subject_statement_id, verdict, headline, explanation, url,
                         author_organization_id)
SELECT id, statement_id, verdict::verdict, headline, explanation, url, organization_id
FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::uuid[])
    AS a (id, statement_id, verdict, headline, explanation, url, organization_id)
"""

EVIDENCE = """
INSERT INTO evidence (assessment_id, position, kind, url, organization_id, stance, note)
SELECT id, 0, 'url', url, organization_id, 'supports', 'the ClaimReview this draft was imported from'
FROM unnest($1::uuid[], $2::text[], $3::uuid[]) AS e (id, url, organization_id)
"""

IMPORTED = """
INSERT INTO claimreview_imports (review_url, statement_id, assessment_id)
SELECT * FROM unnest($1::text[], $2::uuid[], $3::uuid[])
"""


class Found:
    """Ids in the order asked for, and which of them this statement created."""

    def __init__(self, rows: Sequence[Record]) -> None:
        self.ids: list[UUID] = [r["id"] for r in rows]
        self.created: list[UUID] = [r["id"] for r in rows if r["created"]]


async def lock(conn: Connection) -> None:
    await conn.execute(LOCK)


async def known_reviews(conn: Connection, urls: Sequence[str]) -> dict[str, tuple[UUID, UUID]]:
    rows = await conn.fetch(KNOWN_REVIEWS, list(urls))
    return {r["review_url"]: (r["statement_id"], r["assessment_id"]) for r in rows}


async def organizations(
    conn: Connection, names: list[str], urls: list[str | None], new_ids: list[UUID]
) -> Found:
    return Found(await conn.fetch(ORGANIZATIONS, names, urls, new_ids))


async def people(
    conn: Connection,
    names: list[str],
    same_as: list[str],
    new_ids: list[UUID],
    descriptions: list[str | None],
) -> Found:
    return Found(await conn.fetch(PEOPLE, names, same_as, new_ids, descriptions))


async def statements(
    conn: Connection,
    speaker_ids: list[UUID],
    texts: list[str],
    said_at: list[datetime | None],
    languages: list[str],
    new_ids: list[UUID],
) -> Found:
    return Found(await conn.fetch(STATEMENTS, speaker_ids, texts, said_at, languages, new_ids))


async def appearances(
    conn: Connection,
    statement_ids: list[UUID],
    positions: list[int],
    urls: list[str],
    published_at: list[datetime | None],
) -> None:
    if statement_ids:
        await conn.execute(APPEARANCES, statement_ids, positions, urls, published_at)


async def assessments(
    conn: Connection,
    ids: list[UUID],
    statement_ids: list[UUID],
    verdicts: list[str],
    headlines: list[str],
    explanations: list[str | None],
    urls: list[str],
    organization_ids: list[UUID],
) -> None:
    if not ids:
        return
    await conn.execute(
        ASSESSMENTS, ids, statement_ids, verdicts, headlines, explanations, urls, organization_ids
    )
    await conn.execute(EVIDENCE, ids, urls, organization_ids)
    await conn.execute(IMPORTED, urls, statement_ids, ids)
