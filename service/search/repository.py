"""SQL for ranked full-text search over statements and documents."""

from __future__ import annotations

from uuid import UUID

import msgspec

from service.db import Connection
from service.documents.repository import DOCUMENT_ITEM_JSON
from service.search.schemas import SearchHit
from service.statements.repository import STATEMENT_ITEM_JSON

# Matched words are wrapped in control characters that cannot occur in the stored text
# after escaping, so the service can escape the snippet and then add <mark> safely.
MARK_START, MARK_END = "\x02", "\x03"
_HEADLINE_OPTIONS = (
    f"StartSel={MARK_START}, StopSel={MARK_END}, MaxWords=35, MinWords=12, MaxFragments=2"
)

# Rank every match, keep one page, and only then build snippets and items: ts_headline
# re-parses the text, so it runs on at most `limit` rows. Statements also match by
# their speaker's name and aliases (through the people_names_search index).
SEARCH = f"""
WITH query AS (SELECT websearch_to_tsquery('english', $1) AS q),
hits AS (
    SELECT 'statement' AS type, s.id, ts_rank_cd(s.search, query.q)
        + CASE WHEN to_tsvector('english', sp.names) @@ query.q THEN 0.1 ELSE 0 END AS score
    FROM statements s JOIN people sp ON sp.id = s.speaker_id, query
    WHERE $2 AND s.deleted_at IS NULL
      AND (s.search @@ query.q OR s.speaker_id IN (
          SELECT p.id FROM people p WHERE to_tsvector('english', p.names) @@ query.q))
    UNION ALL
    SELECT 'document', d.id, ts_rank_cd(d.search, query.q)
    FROM documents d, query
    WHERE $3 AND d.deleted_at IS NULL AND d.search @@ query.q
),
page AS (
    SELECT type, id, score::real AS score FROM hits
    WHERE $4::real IS NULL OR (score::real, id) < ($4::real, $5::uuid)
    ORDER BY score::real DESC, id DESC LIMIT $6
)
SELECT coalesce(json_agg(json_build_object(
    'type', page.type, 'id', page.id, 'score', page.score,
    'snippet', CASE page.type
        WHEN 'statement' THEN ts_headline('english', s.text || ' — ' || coalesce(s.context, ''),
                                          query.q, '{_HEADLINE_OPTIONS}')
        ELSE ts_headline('english', d.title || ' — ' || coalesce(d.summary, '') || ' '
                         || coalesce(left(d.body_text, 20000), ''), query.q, '{_HEADLINE_OPTIONS}')
    END,
    'item', CASE page.type WHEN 'statement' THEN {STATEMENT_ITEM_JSON} ELSE {DOCUMENT_ITEM_JSON} END
) ORDER BY page.score DESC, page.id DESC), '[]')
FROM page CROSS JOIN query
LEFT JOIN statements s ON page.type = 'statement' AND s.id = page.id
LEFT JOIN documents d ON page.type = 'document' AND d.id = page.id
"""


async def search(
    conn: Connection,
    q: str,
    *,
    statements: bool,
    documents: bool,
    after: tuple[float, UUID] | None,
    limit: int,
) -> list[SearchHit]:
    raw = await conn.fetchval(
        SEARCH,
        q,
        statements,
        documents,
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )
    return msgspec.json.decode(raw, type=list[SearchHit])
