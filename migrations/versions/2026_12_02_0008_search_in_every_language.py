"""Search in every language: each statement and document is indexed by the rules of its
own `language`, a query matches text in all of them, a trailing `*` matches words that
start with it, and the words the record contains are kept for spelling suggestions.

- `text_search_config(language)`: the PostgreSQL text search configuration of a BCP 47
  tag's primary subtag (`ar-IQ` -> arabic, `fr-CA` -> french), `simple` where PostgreSQL
  ships none. The `search` columns are rebuilt with it, which re-indexes every row.
- `search_languages`: the configurations in use (kept by triggers), so a query is
  parsed once per language the record holds, not once per language PostgreSQL knows.
- `search_query(q, prefixes)`: the query under every configuration in use, OR-ed; each
  prefix is AND-ed in as `'word':*`. One tsquery, the same for every row, so the GIN
  indexes serve it.
- `search_words`: every word (unstemmed, lower case) of titles, summaries, bodies,
  quotes, contexts and names, with a trigram index: the vocabulary that corrects a
  misspelled query.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# Primary subtag -> configuration, for every configuration PostgreSQL 15 ships.
CONFIGS = {
    "ar": "arabic",
    "hy": "armenian",
    "eu": "basque",
    "ca": "catalan",
    "da": "danish",
    "nl": "dutch",
    "en": "english",
    "fi": "finnish",
    "fr": "french",
    "de": "german",
    "el": "greek",
    "hi": "hindi",
    "hu": "hungarian",
    "id": "indonesian",
    "ga": "irish",
    "it": "italian",
    "lt": "lithuanian",
    "ne": "nepali",
    "no": "norwegian",
    "nb": "norwegian",
    "nn": "norwegian",
    "pt": "portuguese",
    "ro": "romanian",
    "ru": "russian",
    "sr": "serbian",
    "es": "spanish",
    "sv": "swedish",
    "ta": "tamil",
    "tr": "turkish",
    "yi": "yiddish",
}

_WHEN = "\n".join(
    f"            WHEN '{tag}' THEN 'pg_catalog.{config}'::regconfig"
    for tag, config in CONFIGS.items()
)

DOCUMENT_SEARCH = """setweight(to_tsvector({config}, title), 'A')
            || setweight(to_tsvector({config}, coalesce(summary, '')), 'B')
            || setweight(to_tsvector({config}, coalesce(body_text, '')), 'C')"""
STATEMENT_SEARCH = """setweight(to_tsvector({config}, text), 'A')
            || setweight(to_tsvector({config}, coalesce(context, '')), 'B')"""

# The words worth suggesting: of a length a misspelling can be told from, and words of
# letters (no numbers, hosts, paths or addresses; spelled out rather than [[:alpha:]],
# which in a C-locale database would leave out every script but Latin).
_WORDS = """SELECT word FROM unnest(tsvector_to_array(to_tsvector('pg_catalog.simple', {text}))) AS word
            WHERE length(word) BETWEEN 3 AND 40 AND word !~ '[0-9_./@:+-]'"""


def _rebuild_search(table: str, expression: str) -> None:
    op.execute(f"DROP INDEX {table}_search")
    op.execute(f"ALTER TABLE {table} DROP COLUMN search")
    op.execute(
        f"ALTER TABLE {table} ADD COLUMN search tsvector GENERATED ALWAYS AS ({expression}) STORED"
    )
    op.execute(f"CREATE INDEX {table}_search ON {table} USING gin (search)")


def upgrade() -> None:
    op.execute(
        f"""CREATE FUNCTION text_search_config(language text) RETURNS regconfig
        LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT CASE lower(split_part(language, '-', 1))
{_WHEN}
            ELSE 'pg_catalog.simple'::regconfig END
        $$"""
    )
    _rebuild_search("documents", DOCUMENT_SEARCH.format(config="text_search_config(language)"))
    _rebuild_search("statements", STATEMENT_SEARCH.format(config="text_search_config(language)"))

    op.execute("CREATE TABLE search_languages (config regconfig PRIMARY KEY)")
    op.execute(
        """INSERT INTO search_languages (config)
        SELECT 'pg_catalog.simple'::regconfig UNION SELECT 'pg_catalog.english'::regconfig
        UNION SELECT text_search_config(language) FROM documents
        UNION SELECT text_search_config(language) FROM statements"""
    )
    op.execute(
        """CREATE FUNCTION note_search_language() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO search_languages (config) VALUES (text_search_config(NEW.language))
            ON CONFLICT DO NOTHING;
            RETURN NULL;
        END $$"""
    )
    for table in ("documents", "statements"):
        op.execute(
            f"""CREATE TRIGGER {table}_note_search_language
            AFTER INSERT OR UPDATE OF language ON {table}
            FOR EACH ROW EXECUTE FUNCTION note_search_language()"""
        )
    # Prefixes are single words of letters and digits (the service's parser makes sure);
    # quoting them anyway keeps a stray quote from ever reaching to_tsquery's syntax.
    op.execute(
        """CREATE FUNCTION search_query(q text, prefixes text[]) RETURNS tsquery
        LANGUAGE sql STABLE PARALLEL SAFE AS $$
        SELECT coalesce(string_agg('(' || part || ')', ' | ')::tsquery, ''::tsquery)
        FROM (
            SELECT string_agg('(' || piece::text || ')', ' & ') AS part
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
        ) AS per_language
        $$"""
    )

    op.execute("CREATE TABLE search_words (word text PRIMARY KEY)")
    op.execute("CREATE INDEX search_words_trgm ON search_words USING gin (word gin_trgm_ops)")
    vocabulary = {
        "documents": "NEW.title || ' ' || coalesce(NEW.summary, '') || ' ' || coalesce(NEW.body_text, '')",
        "statements": "NEW.text || ' ' || coalesce(NEW.context, '')",
        "people": "NEW.names",
        "organizations": "NEW.name",
    }
    columns = {
        "documents": "title, summary, body_text",
        "statements": "text, context",
        "people": "name, aliases",
        "organizations": "name",
    }
    for table, text in vocabulary.items():
        op.execute(
            f"""CREATE FUNCTION note_{table}_words() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO search_words (word) {_WORDS.format(text=text)}
                ON CONFLICT DO NOTHING;
                RETURN NULL;
            END $$"""
        )
        op.execute(
            f"""CREATE TRIGGER {table}_note_words AFTER INSERT OR UPDATE OF {columns[table]}
            ON {table} FOR EACH ROW EXECUTE FUNCTION note_{table}_words()"""
        )
        backfill = text.replace("NEW.", "t.")
        op.execute(
            f"""INSERT INTO search_words (word)
            SELECT DISTINCT w.word FROM {table} t
            CROSS JOIN LATERAL ({_WORDS.format(text=backfill)}) AS w
            ON CONFLICT DO NOTHING"""
        )


def downgrade() -> None:
    for table in ("documents", "statements", "people", "organizations"):
        op.execute(f"DROP TRIGGER {table}_note_words ON {table}")
        op.execute(f"DROP FUNCTION note_{table}_words()")
    op.execute("DROP TABLE search_words")
    op.execute("DROP FUNCTION search_query(text, text[])")
    for table in ("documents", "statements"):
        op.execute(f"DROP TRIGGER {table}_note_search_language ON {table}")
    op.execute("DROP FUNCTION note_search_language()")
    op.execute("DROP TABLE search_languages")
    _rebuild_search("documents", DOCUMENT_SEARCH.format(config="'english'"))
    _rebuild_search("statements", STATEMENT_SEARCH.format(config="'english'"))
    op.execute("DROP FUNCTION text_search_config(text)")
