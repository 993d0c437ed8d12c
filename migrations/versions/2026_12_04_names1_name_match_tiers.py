"""How well a name matches what was typed, as a tier: the list of people or
organizations with `q` puts exact names first, then whole words, then prefixes, then
whatever only trigram similarity found (migration 0009's functions pick the matches;
these only rank them).

`name_words` splits a name into lower-case words of letters and digits, so that
"Mark T. Esper", "@EsperDoD" and "esper, mark" compare word by word and word order
does not matter. `name_tier(words, prefixes, names)` is, for the query's whole words,
its `word*` prefixes and a row's names (its name and each alias):

- 0: one of the names has exactly the query's words (no prefix asked), in any order;
- 1: every word of the query is a whole word of the names;
- 2: every word or prefix of the query starts a word of the names;
- 3: anything else (a typo, a word inside another).

Both are IMMUTABLE and take no setting, so they rank alike behind PgBouncer or not.

Revision ID: names1
Revises: 0010
Create Date: 2026-12-04
"""

from alembic import op

revision = "names1"
down_revision = "0010"
branch_labels = None
depends_on = None

UPGRADE = [
    r"""CREATE FUNCTION name_words(name text) RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    RETURN array_remove(regexp_split_to_array(lower(name), '[^[\:alnum\:]]+'), '')""",
    """CREATE FUNCTION name_tier(words text[], prefixes text[], names text[]) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT CASE
        WHEN cardinality(words) + cardinality(prefixes) = 0 THEN 3
        WHEN cardinality(prefixes) = 0 AND EXISTS (
            SELECT FROM unnest(names) AS n (name)
            WHERE name_words(n.name) @> words AND name_words(n.name) <@ words) THEN 0
        WHEN cardinality(prefixes) = 0 AND words <@ ARRAY(
            SELECT w FROM unnest(names) AS n (name), unnest(name_words(n.name)) AS w) THEN 1
        WHEN NOT EXISTS (
            SELECT FROM unnest(words || prefixes) AS q (word)
            WHERE NOT EXISTS (
                SELECT FROM unnest(names) AS n (name), unnest(name_words(n.name)) AS w
                WHERE starts_with(w, q.word))) THEN 2
        ELSE 3
    END
    $$""",
]

DOWNGRADE = [
    "DROP FUNCTION name_tier(text[], text[], text[])",
    "DROP FUNCTION name_words(text)",
]


def upgrade() -> None:
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    for statement in DOWNGRADE:
        op.execute(statement)
