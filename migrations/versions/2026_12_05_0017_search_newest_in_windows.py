"""Search finds its newest matches in recency windows.

`search_newest(kind, tsq, speakers, only_public, lang, wanted)`: the ids of the
`wanted` newest live rows of `statements` or `documents` (by `search_recency`, then id)
that match `tsq` (or, for statements, whose speaker is one of `speakers`), visible and
in the language asked for, if the newest 1 % of the table holds that many, or else a
window sized by the rate of matches found there (at most 10 %); otherwise NULL, and
the search takes its bitmap scan of every match as before. The cut-offs are the
column's histogram bounds in `pg_stats`. A window holds every row newer than its
cut-off, so once it holds `wanted` matches they are the newest of all: the set never
depends on the statistics, only the cost does (no statistics yet: NULL, the scan of
every match).

Why: at 1M statements the bench's median query matches thousands of rows, and the
bitmap scan of the whole match visited each of their heap pages only to sort them and
keep 100. In a window the planner ANDs the GIN bitmap with the recency index's range,
so it visits the window's matches only. Dynamic SQL with EXECUTE ... USING: each window
is planned with its own cut-off and query, which is what lets the planner choose that
AND (a generic plan cannot know how narrow the window is); `search_recency + 0` keeps
it from walking the recency index instead, which it would do for a phrase, whose
rarity it cannot estimate. A wider window costs more than it saves (the range of 25 %
of 1M statements alone took 100 ms), and a phrase skips the windows: tried, they made
no difference to the bench's phrases (each window re-reads its words' long posting
lists, 30 ms for two common words, and most found too few matches).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05
"""

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

SEARCH_NEWEST = r"""CREATE FUNCTION search_newest(
    kind text, tsq tsquery, speakers uuid[], only_public boolean, lang text, wanted integer
) RETURNS uuid[] LANGUAGE plpgsql STABLE AS $fn$
DECLARE
    bounds real[];
    fraction numeric;
    found uuid[];
    query text;
BEGIN
    IF kind NOT IN ('statements', 'documents') THEN
        RAISE EXCEPTION 'search_newest: unknown kind %', kind;
    END IF;
    IF speakers IS NOT NULL AND cardinality(speakers) = 0 THEN
        RETURN '{}';
    END IF;
    query := format(
        'SELECT coalesce(array_agg(id), ''{}'') FROM (SELECT id FROM %I'
        ' WHERE deleted_at IS NULL AND search_recency >= $1 %s %s %s %s'
        ' ORDER BY search_recency + 0 DESC, id DESC LIMIT $5) AS newest',
        kind,
        CASE WHEN tsq IS NOT NULL THEN 'AND search @@ $2' ELSE '' END,
        CASE WHEN speakers IS NOT NULL THEN 'AND speaker_id = ANY($3)' ELSE '' END,
        CASE WHEN only_public THEN 'AND visibility = ''public''' ELSE '' END,
        CASE WHEN lang IS NOT NULL
            THEN 'AND (lower(language) = lower($4) OR lower(language) LIKE lower($4) || ''-%'')'
            ELSE '' END);
    SELECT histogram_bounds::text::real[] INTO bounds FROM pg_stats
    WHERE schemaname = current_schema() AND tablename = kind AND attname = 'search_recency';
    IF coalesce(cardinality(bounds), 0) < 2 OR (tsq IS NOT NULL AND tsq::text LIKE '%<%>%') THEN
        RETURN NULL;
    END IF;
    -- The newest 1 % first; when it holds some matches but too few, a window sized by
    -- their rate, with half again as many rows to spare.
    fraction := 0.01;
    FOR attempt IN 1..2 LOOP
        EXIT WHEN fraction > 0.1;
        EXECUTE query INTO found
            USING bounds[cardinality(bounds) - ceil((cardinality(bounds) - 1) * fraction)::integer],
                  tsq, speakers, lang, wanted;
        IF cardinality(found) >= wanted THEN
            RETURN found;
        END IF;
        EXIT WHEN cardinality(found) = 0;
        fraction := fraction * wanted / cardinality(found) * 1.5;
    END LOOP;
    RETURN NULL;
END
$fn$"""


def upgrade() -> None:
    op.execute(SEARCH_NEWEST)


def downgrade() -> None:
    op.execute("DROP FUNCTION search_newest(text, tsquery, uuid[], boolean, text, integer)")
