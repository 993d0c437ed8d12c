"""Search ranks a bounded set of candidates: what it needs to pick them without reading
every match, and to rank them without reading every match's full text.

- `search_recency` on statements and documents: the factor by which newer material is
  not buried (1 + 2 % per year after 2000 of said_at / dated_on, else created_at), as a
  stored column. It used to be computed for every match of every search; now it also
  orders the candidates.
- `statements_search_recency`, `documents_search_recency`: btree indexes in that order
  (newest first, then id), live rows only. A search walks one to find the newest
  matches of a common word without reading the tens of thousands of rows it matches,
  and a bitmap scan of the GIN index sorts on the column for rarer ones.
- `documents.search_lead`: the compact vector documents are ranked on: the title
  (weight A), the summary (B) and the first 2,000 characters of the body (C). The full
  `search` vector, body included, still decides what matches; ranking a long body's
  vector meant reading it out of TOAST for every match.
- `search_query_parts(q, prefixes)`: `search_query`'s pieces, one per configuration
  in use (`search_query` is their OR). A row matches the OR, but is ranked and
  highlighted with its own language's part alone: ranking against six languages'
  alternatives cost six times as much and matched nothing more in its vector.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# Seconds in a Julian year: the unit of the per-year factor. timestamptz minus
# timestamptz and extract(epoch FROM interval) are immutable, so the column can be
# generated; the fixed origin (not now()) keeps a score the same between pages.
RECENCY = """(1 + 0.02 * greatest(0, extract(epoch FROM ({moment}
            - timestamptz '2000-01-01T00:00:00Z')) / 31557600))::real"""

DOCUMENT_LEAD = """setweight(to_tsvector(text_search_config(language), title), 'A')
            || setweight(to_tsvector(text_search_config(language), coalesce(summary, '')), 'B')
            || setweight(to_tsvector(text_search_config(language), left(coalesce(body_text, ''), 2000)), 'C')"""

MOMENTS = {
    "statements": "coalesce(said_at, created_at)",
    # A date is midnight UTC (date to timestamptz alone would depend on the session's
    # TimeZone, which a generated column may not).
    "documents": "coalesce(dated_on::timestamp AT TIME ZONE 'UTC', created_at)",
}


# The same text as search_query's (migration 0008), keeping each language's part.
QUERY_PARTS = """CREATE FUNCTION search_query_parts(q text, prefixes text[])
    RETURNS TABLE (config regconfig, part tsquery)
    LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT l.config, string_agg('(' || piece::text || ')', ' & ')::tsquery
    FROM search_languages l
    CROSS JOIN LATERAL (
        SELECT websearch_to_tsquery(l.config, q) AS piece
        UNION ALL
        SELECT to_tsquery(l.config, '''' || replace(replace(p, '\\', '\\\\'), '''', '''''')
                                     || ''':*')
        FROM unnest(prefixes) AS p
    ) AS pieces
    WHERE numnode(piece) > 0
    GROUP BY l.config
    $$"""


def upgrade() -> None:
    op.execute(QUERY_PARTS)
    for table, moment in MOMENTS.items():
        op.execute(
            f"""ALTER TABLE {table} ADD COLUMN search_recency real
            GENERATED ALWAYS AS ({RECENCY.format(moment=moment)}) STORED"""
        )
        op.execute(
            f"""CREATE INDEX {table}_search_recency ON {table} (search_recency DESC, id DESC)
            WHERE deleted_at IS NULL"""
        )
    op.execute(
        f"""ALTER TABLE documents ADD COLUMN search_lead tsvector
        GENERATED ALWAYS AS ({DOCUMENT_LEAD}) STORED"""
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION search_query_parts(text, text[])")
    op.execute("ALTER TABLE documents DROP COLUMN search_lead")
    for table in MOMENTS:
        op.execute(f"DROP INDEX {table}_search_recency")
        op.execute(f"ALTER TABLE {table} DROP COLUMN search_recency")
