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
# expression and uses the GIN indexes. It is parsed under every language the record
# holds (`search_query`, migration 0008) once per search (`query`, materialized; an
# uncorrelated subquery becomes an InitPlan the index scans take as their key): each
# row is indexed, and its snippet highlighted, by the rules of its own language.
#
# A search ranks a bounded set of candidates, never every match (a three-letter prefix
# or a common word matches a third of the record): stage 1 picks, per kind, the
# CANDIDATES newest matches (`search_recency`, then id: deterministic, so the pages of
# one search rank the same set and the keyset cursor holds); stage 2 ranks them with
# ts_rank_cd, on the statement's vector (a quote and its context are short) and on a
# document's compact `search_lead` (title, summary, the body's start; migration
# 0012), never on a long body; snippets are built for the page's rows only,
# since ts_headline re-parses the text.
#
# Stage 1 for statements first probes the newest PROBED live statements (the recency
# index). When at least PROBE_HITS of them match, the word is common: the walk goes on
# through at most WALKED rows and keeps the first CANDIDATES matches, found after a few
# hundred rows and the newest by construction. Otherwise (most queries: the bench's
# median statement query matches 0.1 % of them), or when the walk comes up short,
# `search_newest` (migration 0017) looks among the newest 1 % of the rows, then in a
# window sized by the rate it found there (bitmap scans of the GIN index ANDed with a
# range of the recency index): a word matching thousands of rows visits the heap for
# a window's matches only (at 1M statements the heap pages of every match were most of
# a search's time). When no window of at most 10 % holds CANDIDATES matches (a rare
# word, a phrase) it answers NULL, and a bitmap scan of every match sorts them; its
# `+ 0` keeps the planner from walking the recency index instead, which for a rare
# word would read the whole table. Every path gives the same set; the probe only
# spares a rare word the walk (1,500 rows cost 5 ms, more than the bitmap scan it
# falls back to). Documents (a tenth as many, their full vectors in TOAST, which a walk
# would read row by row) and the statements of speakers whose names match take the
# windows and bitmap scans, which need no vector for a plain or prefix query.
# Statements also match by their speaker's name and aliases: the people whose names
# match are looked up once (a few rows), and UNION keeps a statement found both ways
# once (its score is the same either way).
TSQUERY = "(SELECT tsq FROM query)"


def _own_part(alias: str) -> str:
    """The query as the row's own language parses it (else the whole query): what a row
    is ranked and highlighted with. Its vector holds that language's lexemes, so the
    other languages' alternatives matched nothing in it and only made ranking slower."""
    return (
        "coalesce((SELECT parts FROM query)[array_position((SELECT configs FROM query),"
        f" text_search_config({alias}.language))], {TSQUERY})"
    )


CANDIDATES = 100
PROBED, PROBE_HITS = 200, 8
WALKED = 5000
IN_LANGUAGE = (
    "AND ($8::text IS NULL OR lower({alias}.language) = lower($8)"
    " OR lower({alias}.language) LIKE lower($8) || '-%')"
)

# Newer material is not buried: a rank grows by 2 % for each year its subject is newer
# than 2000 (`search_recency`, migration 0012).
STATEMENT_RANK = f"ts_rank_cd(s.search, {_own_part('s')}) * s.search_recency"
DOCUMENT_RANK = f"ts_rank_cd(d.search_lead, {_own_part('d')}) * d.search_recency"


# A quoted phrase (migration 0018) takes its own path when its pairs can narrow the
# matches: the rows holding the hashes of its word pairs (a few thousand at most, where
# its words alone are held by tens of thousands), newest first, each checked for the
# phrase itself until CANDIDATES pass. The check runs after the sort (OFFSET 0 keeps
# the planner from moving it below), so a document's full vector comes out of TOAST for
# the newest candidates only. The set is the same as the other paths': the pairs of a
# phrase never leave out a row that holds it.
PAIRS = "(SELECT pairs FROM query)"
UNPHRASED = f"{PAIRS} IS NULL"


def _phrased(table: str, alias: str, wanted: str, columns: str, only_public: str) -> str:
    return f"""(SELECT {columns.replace(f"{alias}.", "p.")} FROM (
        SELECT {columns}, {alias}.search AS matched, {alias}.search_recency + 0 AS recency
        FROM {table} {alias}
        WHERE {wanted} AND {PAIRS} IS NOT NULL AND {alias}.deleted_at IS NULL
          AND {alias}.search_pairs @@ {PAIRS} {only_public.format(alias=alias)}
        ORDER BY recency DESC, {alias}.id DESC OFFSET 0) AS p
     WHERE p.matched @@ {TSQUERY}
     ORDER BY p.recency DESC, p.id DESC LIMIT {CANDIDATES})"""


def _search_sql(public: bool) -> str:
    only_public = "AND {alias}.visibility = 'public'" if public else ""

    def _newest(kind: str, tsq: str, speakers: str) -> str:
        return f"search_newest('{kind}', {tsq}, {speakers}, {public}, $8::text, {CANDIDATES})"

    only_public += " " + IN_LANGUAGE
    statement_item = PUBLIC_STATEMENT_ITEM_JSON if public else STATEMENT_ITEM_JSON
    document_item = PUBLIC_DOCUMENT_ITEM_JSON if public else DOCUMENT_ITEM_JSON
    return f"""
WITH parts AS MATERIALIZED (SELECT config, part FROM search_query_parts($1, $7::text[])),
query AS MATERIALIZED (
    SELECT coalesce(string_agg('(' || part::text || ')', ' | ')::tsquery, ''::tsquery) AS tsq,
           array_agg(config) AS configs, array_agg(part) AS parts,
           search_phrase_query($9::text[]) AS pairs
    FROM parts
),
speakers AS (
    SELECT coalesce(array_agg(p.id), '{{}}') AS named,
           coalesce(array_agg(p.id) FILTER (WHERE p.deleted_at IS NULL), '{{}}') AS live
    FROM people p WHERE to_tsvector('english', p.names) @@ {TSQUERY}
),
probe AS MATERIALIZED (
    SELECT count(*) AS hits FROM (
        SELECT s.search, s.visibility, s.language FROM statements s
        WHERE $2 AND {UNPHRASED} AND s.deleted_at IS NULL
        ORDER BY s.search_recency DESC, s.id DESC LIMIT {PROBED}
    ) AS w
    WHERE w.search @@ {TSQUERY} {only_public.format(alias="w")}
),
walked AS MATERIALIZED (
    SELECT w.id, w.search, w.search_recency, w.speaker_id, w.language FROM (
        SELECT s.id, s.search, s.search_recency, s.speaker_id, s.visibility, s.language
        FROM statements s
        WHERE $2 AND s.deleted_at IS NULL
        ORDER BY s.search_recency DESC, s.id DESC LIMIT {WALKED}
    ) AS w
    WHERE (SELECT hits FROM probe) >= {PROBE_HITS}
      AND w.search @@ {TSQUERY} {only_public.format(alias="w")}
    LIMIT {CANDIDATES}
),
newest AS MATERIALIZED (
    SELECT CASE WHEN $2 AND {UNPHRASED} AND (SELECT count(*) FROM walked) < {CANDIDATES}
               THEN {_newest("statements", TSQUERY, "NULL")} END AS said,
           CASE WHEN $2
               THEN {_newest("statements", "NULL", "(SELECT live FROM speakers)::uuid[]")} END AS spoken,
           CASE WHEN $3 AND {UNPHRASED} THEN {_newest("documents", TSQUERY, "NULL")} END AS written
),
statement_candidates AS (
    SELECT * FROM walked WHERE (SELECT count(*) FROM walked) = {CANDIDATES}
    UNION ALL
    SELECT s.id, s.search, s.search_recency, s.speaker_id, s.language FROM statements s
    WHERE s.id = ANY((SELECT said FROM newest)::uuid[])
    UNION ALL
    (SELECT s.id, s.search, s.search_recency, s.speaker_id, s.language FROM statements s
     WHERE (SELECT count(*) FROM walked) < {CANDIDATES} AND (SELECT said IS NULL FROM newest)
       AND $2 AND {UNPHRASED} AND s.deleted_at IS NULL AND s.search @@ {TSQUERY} {only_public.format(alias="s")}
     ORDER BY s.search_recency + 0 DESC, s.id DESC LIMIT {CANDIDATES})
    UNION ALL
    {_phrased("statements", "s", "$2", "s.id, s.search, s.search_recency, s.speaker_id, s.language", only_public)}
),
hits AS (
    SELECT 'statement' AS type, s.id, ({STATEMENT_RANK}
        + CASE WHEN s.speaker_id = ANY((SELECT named FROM speakers)::uuid[]) THEN 0.1 ELSE 0 END
        )::real AS score
    FROM statement_candidates s
    UNION
    SELECT 'statement', s.id, ({STATEMENT_RANK} + 0.1)::real
    FROM (SELECT s.id, s.search, s.search_recency, s.language FROM statements s
          WHERE s.id = ANY((SELECT spoken FROM newest)::uuid[])
          UNION ALL
          (SELECT s.id, s.search, s.search_recency, s.language FROM statements s
           WHERE $2 AND (SELECT spoken IS NULL FROM newest) AND s.deleted_at IS NULL
             {only_public.format(alias="s")}
             AND s.speaker_id = ANY((SELECT live FROM speakers)::uuid[])
           ORDER BY s.search_recency + 0 DESC, s.id DESC LIMIT {CANDIDATES})) AS s
    UNION ALL
    SELECT 'document', d.id, ({DOCUMENT_RANK})::real
    FROM (SELECT d.id, d.search_lead, d.search_recency, d.language FROM documents d
          WHERE d.id = ANY((SELECT written FROM newest)::uuid[])
          UNION ALL
          (SELECT d.id, d.search_lead, d.search_recency, d.language FROM documents d
           WHERE $3 AND {UNPHRASED} AND (SELECT written IS NULL FROM newest) AND d.deleted_at IS NULL
             AND d.search @@ {TSQUERY} {only_public.format(alias="d")}
           ORDER BY d.search_recency + 0 DESC, d.id DESC LIMIT {CANDIDATES})
          UNION ALL
          {_phrased("documents", "d", "$3", "d.id, d.search_lead, d.search_recency, d.language", only_public)}) AS d
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
                                          {_own_part("s")}, '{_HEADLINE_OPTIONS}')
        ELSE ts_headline(text_search_config(d.language), d.title || ' — ' || coalesce(d.summary, '') || ' '
                         || coalesce(left(d.body_text, 20000), ''), {_own_part("d")}, '{_HEADLINE_OPTIONS}')
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
    phrases: list[str],
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
        phrases,
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
