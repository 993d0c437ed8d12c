"""Typo-tolerant name matching that carries its own similarity threshold.

`q <% names` (pg_trgm's word similarity, served by the gin_trgm_ops indexes) matches
at `pg_trgm.word_similarity_threshold`: 0.3 lets "esprr" find "Mark Esper", pg_trgm's
default of 0.6 does not. The service sent 0.3 as a startup parameter, which PgBouncer
refuses, and a database setting would quietly fall back to 0.6 in a copy or a restore
that lost it: search results would change and nothing would say so.

These functions fix the threshold where the match is made: a function's `SET` clause
holds for its own queries and is undone when it returns, whatever the session or the
pooler. Each returns the ids whose names match `q` by word similarity or contain
`pattern` (an ILIKE pattern), for `id IN (SELECT ...)`. The query runs through
EXECUTE so that it is planned for the very values it is given: a function's static
query gets a generic plan, which scans every row (1.3 s for 200,000 people) instead of
the trigram index (10-20 ms).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

UPGRADE = [
    """CREATE FUNCTION people_matching(q text, pattern text) RETURNS SETOF uuid
    LANGUAGE plpgsql STABLE PARALLEL SAFE ROWS 100
    SET pg_trgm.word_similarity_threshold = 0.3
    AS $$ BEGIN
        RETURN QUERY EXECUTE 'SELECT id FROM people WHERE $1 <% names OR names ILIKE $2'
            USING q, pattern;
    END $$""",
    """CREATE FUNCTION organizations_matching(q text, pattern text) RETURNS SETOF uuid
    LANGUAGE plpgsql STABLE PARALLEL SAFE ROWS 100
    SET pg_trgm.word_similarity_threshold = 0.3
    AS $$ BEGIN
        RETURN QUERY EXECUTE 'SELECT id FROM organizations WHERE $1 <% name OR name ILIKE $2'
            USING q, pattern;
    END $$""",
]

DOWNGRADE = [
    "DROP FUNCTION organizations_matching(text, text)",
    "DROP FUNCTION people_matching(text, text)",
]


def upgrade() -> None:
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    for statement in DOWNGRADE:
        op.execute(statement)
