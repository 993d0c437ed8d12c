"""SQL for similar statements.

The candidates are the statements sharing the most words with the quote (the full-text
index, any of its words: a repeat, reworded or not, shares words with what it repeats),
a bounded set; each is scored on its trigram similarity (pg_trgm) and its share of
words in common, and the page is cut from that set.
"""

from __future__ import annotations

from uuid import UUID

import msgspec

from service.domain.visibility import PUBLISHED_STATEMENT
from service.kit.db import Connection
from service.views.items import PUBLIC_STATEMENT_ITEM_JSON, STATEMENT_ITEM_JSON
from service.views.similar.schemas import SimilarStatement
from service.web.auth import Audience

# How many candidates are scored.
CANDIDATES = 400
# Below this, a statement is not "nearly the same thing".
MIN_SIMILARITY = 0.3

_WORDS = "to_tsvector(text_search_config({0}.language), {0}.text)"

_SIMILAR = f"""
WITH target AS MATERIALIZED (
    SELECT s.id, s.text, {_WORDS.format("s")} AS words,
           replace(plainto_tsquery(text_search_config(s.language), s.text)::text, ' & ', ' | ')
               AS any_word
    FROM statements s WHERE s.id = $1 AND s.deleted_at IS NULL AND {{visible}}
), candidates AS (
    SELECT s.id FROM statements s, target t
    WHERE t.any_word <> '' AND s.deleted_at IS NULL AND s.id <> t.id
      AND s.search @@ t.any_word::tsquery AND {{visible}}
    ORDER BY ts_rank(s.search, t.any_word::tsquery) DESC, s.id LIMIT {CANDIDATES}
), scored AS (
    SELECT c.id, round(((similarity(s.text, t.text) + coalesce(
        (SELECT count(*) FROM (SELECT unnest(tsvector_to_array(t.words))
                               INTERSECT SELECT unnest(tsvector_to_array({_WORDS.format("s")}))) AS i)::float8
        / nullif((SELECT count(*) FROM (SELECT unnest(tsvector_to_array(t.words))
                                       UNION SELECT unnest(tsvector_to_array({_WORDS.format("s")}))) AS u), 0),
        0)) / 2)::numeric, 4)::float8 AS similarity
    FROM candidates c JOIN statements s ON s.id = c.id CROSS JOIN target t
)
SELECT json_build_array(EXISTS (SELECT 1 FROM target), coalesce((
    SELECT json_agg(json_build_object('similarity', page.similarity, 'statement', page.doc)
                    ORDER BY page.similarity DESC, page.id)
    FROM (SELECT {{item}} AS doc, sc.similarity, s.id
          FROM scored sc JOIN statements s ON s.id = sc.id
          WHERE sc.similarity >= {MIN_SIMILARITY}
            AND ($2::float8 IS NULL OR sc.similarity < $2 OR (sc.similarity = $2 AND s.id > $3))
          ORDER BY sc.similarity DESC, s.id LIMIT $4) AS page), '[]'))
"""

SIMILAR = {
    Audience.NEWSROOM: _SIMILAR.format(visible="TRUE", item=STATEMENT_ITEM_JSON),
    Audience.PUBLIC: _SIMILAR.format(visible=PUBLISHED_STATEMENT, item=PUBLIC_STATEMENT_ITEM_JSON),
}


async def similar(
    conn: Connection,
    id: UUID,
    after: tuple[float, UUID] | None,
    limit: int,
    audience: Audience,
) -> tuple[bool, list[SimilarStatement]]:
    """Whether the statement is there for this audience, and the page after `after`."""
    raw = await conn.fetchval(
        SIMILAR[audience], id, after[0] if after else None, after[1] if after else None, limit
    )
    return msgspec.json.decode(raw, type=tuple[bool, list[SimilarStatement]])
