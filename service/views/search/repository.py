"""SQL for ranked full-text search over statements and documents."""

from __future__ import annotations

from uuid import UUID

import msgspec

from service.kit.db import Connection
from service.views.items import (
    DOCUMENT_ITEM_JSON,
    PUBLIC_DOCUMENT_ITEM_JSON,
    PUBLIC_STATEMENT_ITEM_JSON,
    STATEMENT_ITEM_JSON,
)
from service.views.search.schemas import SearchHit
from service.web.auth import Audience

# Matched words are wrapped in control characters that cannot occur in the stored text
# after escaping, so the service can escape the snippet and then add <mark> safely.
MARK_START, MARK_END = "\x02", "\x03"
_HEADLINE_OPTIONS = (
    f"StartSel={MARK_START}, StopSel={MARK_END}, MaxWords=35, MinWords=12, MaxFragments=2"
)

# The text query appears inline (not in a CTE) so that the planner sees a stable
# expression and uses the GIN indexes. Statements match by their words or by their
# speaker's name and aliases: the people whose names match are looked up once (a few
# rows), then each index scan ranks what it finds, and UNION keeps a statement found by
# both once (its score is the same either way). Ranking in the scans, rather than
# joining the matches back to statements and people, takes a third less time on the
# benchmark's corpus (`make bench`). Every match is ranked, one page is kept, and
# only then are snippets and items built: ts_headline re-parses the text, so it runs
# on at most `limit` rows. The query is parsed under every language the record holds
# (`search_query`, migration 0008); each row is indexed, and its snippet highlighted, by
# the rules of its own language.
# Built once per search (`query`, materialized; an uncorrelated subquery becomes an
# InitPlan the GIN index scans take as their key) rather than per ranked row: parsing it
# under every language costs tens of microseconds, and a common word matches thousands.
TSQUERY = "(SELECT tsq FROM query)"
IN_LANGUAGE = (
    "AND ($8::text IS NULL OR lower({alias}.language) = lower($8)"
    " OR lower({alias}.language) LIKE lower($8) || '-%')"
)


# Newer material is not buried: a rank grows by 2 % for each year its subject is newer
# than 2000 (said_at, dated_on, else when it was recorded). Measured from a fixed date,
# not now(), so a score stays the same between the pages of one search (keyset paging).
def _recency(moment_sql: str) -> str:
    return (
        f"(1 + 0.02 * greatest(0, extract(epoch FROM {moment_sql}::timestamptz"
        " - timestamptz '2000-01-01T00:00:00Z') / 31557600))"
    )


STATEMENT_RANK = (
    f"ts_rank_cd(s.search, {TSQUERY}) * {_recency('coalesce(s.said_at, s.created_at)')}"
)
DOCUMENT_RANK = (
    f"ts_rank_cd(d.search, {TSQUERY}) * {_recency('coalesce(d.dated_on, d.created_at)')}"
)


def _search_sql(public: bool) -> str:
    only_public = "AND {alias}.visibility = 'public'" if public else ""
    only_public += " " + IN_LANGUAGE
    statement_item = PUBLIC_STATEMENT_ITEM_JSON if public else STATEMENT_ITEM_JSON
    document_item = PUBLIC_DOCUMENT_ITEM_JSON if public else DOCUMENT_ITEM_JSON
    return f"""
WITH query AS MATERIALIZED (SELECT search_query($1, $7::text[]) AS tsq),
speakers AS (
    SELECT coalesce(array_agg(p.id), '{{}}') AS named,
           coalesce(array_agg(p.id) FILTER (WHERE p.deleted_at IS NULL), '{{}}') AS live
    FROM people p WHERE to_tsvector('english', p.names) @@ {TSQUERY}
),
hits AS (
    SELECT 'statement' AS type, s.id, ({STATEMENT_RANK}
        + CASE WHEN s.speaker_id = ANY((SELECT named FROM speakers)::uuid[]) THEN 0.1 ELSE 0 END
        )::real AS score
    FROM statements s
    WHERE $2 AND s.deleted_at IS NULL AND s.search @@ {TSQUERY} {only_public.format(alias="s")}
    UNION
    SELECT 'statement', s.id, ({STATEMENT_RANK} + 0.1)::real
    FROM statements s
    WHERE $2 AND s.deleted_at IS NULL {only_public.format(alias="s")}
      AND s.speaker_id = ANY((SELECT live FROM speakers)::uuid[])
    UNION ALL
    SELECT 'document', d.id, ({DOCUMENT_RANK})::real
    FROM documents d
    WHERE $3 AND d.deleted_at IS NULL AND d.search @@ {TSQUERY} {only_public.format(alias="d")}
),
page AS (
    SELECT type, id, score FROM hits
    WHERE $4::real IS NULL OR (score, id) < ($4::real, $5::uuid)
    ORDER BY score DESC, id DESC LIMIT $6
)
SELECT coalesce(json_agg(json_build_object(
    'type', page.type, 'id', page.id, 'score', page.score,
    'snippet', CASE page.type
        WHEN 'statement' THEN ts_headline(text_search_config(s.language), s.text || ' — ' || coalesce(s.context, ''),
                                          {TSQUERY}, '{_HEADLINE_OPTIONS}')
        ELSE ts_headline(text_search_config(d.language), d.title || ' — ' || coalesce(d.summary, '') || ' '
                         || coalesce(left(d.body_text, 20000), ''), {TSQUERY}, '{_HEADLINE_OPTIONS}')
    END,
    'item', CASE page.type WHEN 'statement' THEN {statement_item} ELSE {document_item} END
) ORDER BY page.score DESC, page.id DESC), '[]')
FROM page
LEFT JOIN statements s ON page.type = 'statement' AND s.id = page.id
LEFT JOIN documents d ON page.type = 'document' AND d.id = page.id
"""


SEARCH = {audience: _search_sql(audience is Audience.PUBLIC) for audience in Audience}


async def search(
    conn: Connection,
    q: str,
    prefixes: list[str],
    *,
    language: str | None,
    statements: bool,
    documents: bool,
    after: tuple[float, UUID] | None,
    limit: int,
    audience: Audience,
) -> list[SearchHit]:
    raw = await conn.fetchval(
        SEARCH[audience],
        q,
        statements,
        documents,
        after[0] if after else None,
        after[1] if after else None,
        limit,
        prefixes,
        language,
    )
    return msgspec.json.decode(raw, type=list[SearchHit])


# For each typed word the record does not contain, the most similar word it does
# (pg_trgm's `%`, served by the trigram index on search_words; its threshold is the
# extension's default, 0.3), ties by the word itself.
SUGGEST_WORDS = """
SELECT w.word AS typed, best.word AS suggested
FROM unnest($1::text[]) AS w (word)
CROSS JOIN LATERAL (
    SELECT sw.word FROM search_words sw
    WHERE sw.word % w.word
    ORDER BY similarity(sw.word, w.word) DESC, sw.word
    LIMIT 1
) AS best
WHERE NOT EXISTS (SELECT 1 FROM search_words known WHERE known.word = w.word)
"""


async def suggest_words(conn: Connection, words: list[str]) -> dict[str, str]:
    """The correction of each word of `words` that the record does not contain."""
    rows = await conn.fetch(SUGGEST_WORDS, words)
    return {row["typed"]: row["suggested"] for row in rows}
