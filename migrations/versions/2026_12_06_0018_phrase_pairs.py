"""A quoted phrase is found through an index of its word pairs, not by rechecking every
row that holds its words.

- `search_phrase_pairs(v)`: for every two lexemes of `v` at most PAIR_REACH positions
  apart (the lexeme, the distance, the later lexeme), a short hash of the three, as a
  vector without positions. A phrase `a <d> b` with d <= PAIR_REACH can only match a
  row whose vector has `a` at some p and `b` at p + d, so the row's pairs hold
  that hash: the index of pairs never leaves a match out, and the phrase itself
  (`search @@ query`) still decides. Distances up to 3 cover a phrase with two stop
  words between its words ("Secretary of the Army": 'secretari' <3> 'armi').
- `statements.search_pairs`, `documents.search_pairs`: those vectors of `search`
  (generated, the same expression as `search`, since a generated column may not read
  another), each with a GIN index.
- `search_phrase_query(phrases)`: what the pairs of every given phrase must hold, as a
  tsquery: per language in use, the AND of the hashes of its pairs (the phrase through
  `to_tsvector`, which places its words where `websearch_to_tsquery`'s phrase does),
  OR across languages, since a row can match any language's part of a
  query. NULL when some language's parse leaves no pair (a phrase of one word and stop
  words): the pairs cannot narrow that language's matches, and the search takes its
  other paths.

Why: two common words in quotes matched, at 1M statements, the 62,776 statements and
64,818 documents holding both; each was rechecked for the phrase, the documents' full
vectors read out of TOAST (0.5 s and 0.7 s of the 5 s p99). The pairs of a phrase are
held by a few thousand rows at most, and the recheck runs for the newest of them only.

Hashes, not the pairs themselves: a pair of two long words in a script of two bytes a
character could take a long document's vector past tsvector's 1 MB, and 20 bits
(1M buckets) keep the index smaller: the posting lists are shared and compress, where
distinct pairs would be nearly one key each. A bucket shared by chance only adds a
candidate, which the phrase itself then turns away: at 30 pairs a row, about 3 in
100,000 rows. Measured at 1M statements and 100k documents: the indexes take 468 and
441 MB (the word indexes 137 and 82), the statements' heap grew by half, and this
migration ran 32 minutes on a 2-core machine.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06
"""

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

PAIR_REACH = 3
PAIR_HASH_HEX = 5

# Positions stop at 16383 in a tsvector: every later word shares that position, so
# pairs there would mean nothing (and a phrase beyond it cannot be found either).
# array_to_tsvector drops the duplicates. About 0.1 ms for a statement's 12 words, a
# third of it md5 (which, unlike hashtext, is the same on every PostgreSQL version:
# the stored pairs and a query's must agree across upgrades).
PHRASE_PAIRS = f"""CREATE FUNCTION search_phrase_pairs(v tsvector) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    WITH occurrences AS (
        SELECT u.lexeme, p::integer AS position
        FROM unnest(v) AS u, unnest(u.positions) AS p
        WHERE p < 16383
    )
    SELECT array_to_tsvector(coalesce(array_agg(
               left(md5(a.lexeme || ' ' || d.distance || ' ' || b.lexeme), {PAIR_HASH_HEX})), '{{}}'))
    FROM occurrences AS a
    CROSS JOIN generate_series(1, {PAIR_REACH}) AS d (distance)
    JOIN occurrences AS b ON b.position = a.position + d.distance
    $$"""

PHRASE_QUERY = """CREATE FUNCTION search_phrase_query(phrases text[]) RETURNS tsquery
    LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN cardinality(phrases) > 0 AND bool_and(part IS NOT NULL)
                THEN string_agg('(' || part::text || ')', ' | ')::tsquery END
    FROM (
        SELECT l.config, (
            SELECT string_agg(quote_literal(pair), ' & ')::tsquery
            FROM unnest(phrases) AS phrase,
                 unnest(tsvector_to_array(search_phrase_pairs(to_tsvector(l.config, phrase)))) AS pair
        ) AS part
        FROM search_languages l
    ) AS per_language
    $$"""

SEARCH = {
    "statements": """setweight(to_tsvector(text_search_config(language), text), 'A')
            || setweight(to_tsvector(text_search_config(language), coalesce(context, '')), 'B')""",
    "documents": """setweight(to_tsvector(text_search_config(language), title), 'A')
            || setweight(to_tsvector(text_search_config(language), coalesce(summary, '')), 'B')
            || setweight(to_tsvector(text_search_config(language), coalesce(body_text, '')), 'C')""",
}


def upgrade() -> None:
    op.execute(PHRASE_PAIRS)
    op.execute(PHRASE_QUERY)
    for table, expression in SEARCH.items():
        op.execute(
            f"""ALTER TABLE {table} ADD COLUMN search_pairs tsvector
            GENERATED ALWAYS AS (search_phrase_pairs({expression})) STORED"""
        )
        op.execute(f"CREATE INDEX {table}_search_pairs ON {table} USING gin (search_pairs)")


def downgrade() -> None:
    for table in SEARCH:
        op.execute(f"ALTER TABLE {table} DROP COLUMN search_pairs")
    op.execute("DROP FUNCTION search_phrase_query(text[])")
    op.execute("DROP FUNCTION search_phrase_pairs(tsvector)")
