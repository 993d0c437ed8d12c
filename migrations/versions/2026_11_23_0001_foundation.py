"""Foundation: organizations, people, documents, statements and the event log.

The database guards what must never happen whatever the code above it does: enum
values, foreign keys, non-empty names and quotes, the sha256 format, a version that
grows by exactly one on every change, soft deletes only, and an append-only event log.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

UPGRADE = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    # ---- vocabularies -------------------------------------------------------------
    """CREATE TYPE organization_kind AS ENUM (
        'news_outlet', 'government', 'military', 'political_party', 'company', 'ngo', 'other')""",
    """CREATE TYPE document_kind AS ENUM (
        'letter', 'memo', 'report', 'order', 'email', 'transcript', 'other')""",
    """CREATE TYPE statement_medium AS ENUM (
        'press_briefing', 'interview', 'social_media', 'written_statement', 'speech',
        'testimony', 'other')""",
    "CREATE TYPE visibility AS ENUM ('public', 'internal')",
    """CREATE TYPE resource_type AS ENUM (
        'organization', 'person', 'document', 'statement', 'relation', 'assessment')""",
    """CREATE TYPE event_action AS ENUM (
        'created', 'updated', 'deleted', 'published', 'superseded', 'retracted')""",
    # ---- shared rules ---------------------------------------------------------------
    # Every change bumps the version by exactly one and stamps updated_at, whatever the
    # UPDATE statement said; a deleted row is frozen; identity never changes.
    """CREATE FUNCTION guard_resource_update() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF OLD.deleted_at IS NOT NULL THEN
            RAISE EXCEPTION '% % is deleted and cannot change', TG_TABLE_NAME, OLD.id
                USING ERRCODE = 'object_not_in_prerequisite_state';
        END IF;
        IF NEW.id IS DISTINCT FROM OLD.id OR NEW.created_at IS DISTINCT FROM OLD.created_at THEN
            RAISE EXCEPTION 'id and created_at of % are immutable', TG_TABLE_NAME
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        NEW.version := OLD.version + 1;
        NEW.updated_at := now();
        RETURN NEW;
    END $$""",
    # Nothing is erased: DELETE in the API sets deleted_at.
    """CREATE FUNCTION forbid_erase() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '% rows are never erased (soft delete sets deleted_at)', TG_TABLE_NAME
            USING ERRCODE = 'integrity_constraint_violation';
    END $$""",
    # array_to_string is only STABLE; names in a generated column need an IMMUTABLE form.
    """CREATE FUNCTION immutable_array_to_string(text[], text) RETURNS text
        LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT array_to_string($1, $2)'""",
    # ---- organizations --------------------------------------------------------------
    """CREATE TABLE organizations (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name text NOT NULL CHECK (name ~ '\\S'),
        kind organization_kind NOT NULL DEFAULT 'other',
        url text CHECK (url ~* '^https?://'),
        same_as text[] NOT NULL DEFAULT '{}',
        version integer NOT NULL DEFAULT 1 CHECK (version >= 1),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        deleted_at timestamptz
    )""",
    # ---- people ---------------------------------------------------------------------
    """CREATE TABLE people (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name text NOT NULL CHECK (name ~ '\\S'),
        aliases text[] NOT NULL DEFAULT '{}',
        description text,
        same_as text[] NOT NULL DEFAULT '{}',
        names text GENERATED ALWAYS AS (name || ' ' || immutable_array_to_string(aliases, ' ')) STORED,
        version integer NOT NULL DEFAULT 1 CHECK (version >= 1),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        deleted_at timestamptz
    )""",
    """CREATE TABLE affiliations (
        person_id uuid NOT NULL REFERENCES people (id),
        position smallint NOT NULL CHECK (position >= 0),
        organization_id uuid NOT NULL REFERENCES organizations (id),
        title text,
        start_on date,
        end_on date,
        PRIMARY KEY (person_id, position),
        CHECK (end_on IS NULL OR start_on IS NULL OR end_on >= start_on)
    )""",
    # ---- documents ------------------------------------------------------------------
    """CREATE TABLE documents (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        title text NOT NULL CHECK (title ~ '\\S'),
        kind document_kind NOT NULL DEFAULT 'other',
        issuer_id uuid REFERENCES organizations (id),
        author_id uuid REFERENCES people (id),
        recipient text,
        dated_on date,
        surfaced_via text,
        summary text,
        body_text text,
        language text NOT NULL DEFAULT 'en'
            CHECK (language ~ '^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$'),
        sha256 text CHECK (sha256 ~ '^[0-9a-f]{64}$'),
        tags text[] NOT NULL DEFAULT '{}',
        visibility visibility NOT NULL DEFAULT 'public',
        search tsvector GENERATED ALWAYS AS (
            setweight(to_tsvector('english', title), 'A')
            || setweight(to_tsvector('english', coalesce(summary, '')), 'B')
            || setweight(to_tsvector('english', coalesce(body_text, '')), 'C')
        ) STORED,
        version integer NOT NULL DEFAULT 1 CHECK (version >= 1),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        deleted_at timestamptz
    )""",
    # ---- statements -----------------------------------------------------------------
    """CREATE TABLE statements (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        speaker_id uuid NOT NULL REFERENCES people (id),
        text text NOT NULL CHECK (text ~ '\\S'),
        said_at timestamptz,
        medium statement_medium NOT NULL DEFAULT 'other',
        context text,
        language text NOT NULL DEFAULT 'en'
            CHECK (language ~ '^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$'),
        tags text[] NOT NULL DEFAULT '{}',
        visibility visibility NOT NULL DEFAULT 'public',
        search tsvector GENERATED ALWAYS AS (
            setweight(to_tsvector('english', text), 'A')
            || setweight(to_tsvector('english', coalesce(context, '')), 'B')
        ) STORED,
        version integer NOT NULL DEFAULT 1 CHECK (version >= 1),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        deleted_at timestamptz
    )""",
    # Where a statement or document was published or quoted; exactly one owner.
    """CREATE TABLE appearances (
        statement_id uuid REFERENCES statements (id),
        document_id uuid REFERENCES documents (id),
        position smallint NOT NULL CHECK (position >= 0),
        url text NOT NULL CHECK (url ~* '^https?://'),
        publisher_id uuid REFERENCES organizations (id),
        published_at timestamptz,
        archived_url text CHECK (archived_url ~* '^https?://'),
        CHECK (num_nonnulls(statement_id, document_id) = 1),
        UNIQUE (statement_id, position),
        UNIQUE (document_id, position)
    )""",
    # ---- the event log ----------------------------------------------------------------
    # One row per change, written in the same transaction as the change. xact_id lets
    # a reader of the change feed stop below the oldest transaction still in flight,
    # so that events committing out of order are never skipped.
    """CREATE TABLE events (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        xact_id xid8 NOT NULL DEFAULT pg_current_xact_id(),
        resource_type resource_type NOT NULL,
        resource_id uuid NOT NULL,
        action event_action NOT NULL,
        version integer NOT NULL CHECK (version >= 1),
        actor text,
        changed_fields text[] NOT NULL DEFAULT '{}',
        at timestamptz NOT NULL DEFAULT now()
    )""",
    """CREATE FUNCTION forbid_event_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'the event log is append-only'
            USING ERRCODE = 'integrity_constraint_violation';
    END $$""",
    """CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
        FOR EACH ROW EXECUTE FUNCTION forbid_event_change()""",
    """CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
        FOR EACH STATEMENT EXECUTE FUNCTION forbid_event_change()""",
    "CREATE INDEX events_by_resource ON events (resource_id, id)",
    "CREATE INDEX events_by_commit ON events (xact_id, id)",
    # ---- indexes for lists, filters and q ----------------------------------------------
    "CREATE INDEX affiliations_organization ON affiliations (organization_id)",
    "CREATE INDEX appearances_statement ON appearances (statement_id) WHERE statement_id IS NOT NULL",
    "CREATE INDEX appearances_document ON appearances (document_id) WHERE document_id IS NOT NULL",
    "CREATE INDEX appearances_publisher ON appearances (publisher_id) WHERE publisher_id IS NOT NULL",
    "CREATE INDEX documents_issuer ON documents (issuer_id, created_at DESC, id DESC) WHERE deleted_at IS NULL",
    "CREATE INDEX documents_author ON documents (author_id) WHERE author_id IS NOT NULL",
    "CREATE INDEX statements_speaker ON statements (speaker_id, created_at DESC, id DESC) WHERE deleted_at IS NULL",
    "CREATE INDEX statements_said_at ON statements (said_at) WHERE deleted_at IS NULL",
    "CREATE INDEX documents_search ON documents USING gin (search)",
    "CREATE INDEX statements_search ON statements USING gin (search)",
    "CREATE INDEX documents_tags ON documents USING gin (tags)",
    "CREATE INDEX statements_tags ON statements USING gin (tags)",
    "CREATE INDEX organizations_name_trgm ON organizations USING gin (name gin_trgm_ops)",
    "CREATE INDEX people_names_trgm ON people USING gin (names gin_trgm_ops)",
]

RESOURCE_TABLES = ("organizations", "people", "documents", "statements")

for _table in RESOURCE_TABLES:
    UPGRADE += [
        f"CREATE INDEX {_table}_page ON {_table} (created_at DESC, id DESC) WHERE deleted_at IS NULL",
        f"CREATE INDEX {_table}_updated ON {_table} (updated_at) WHERE deleted_at IS NULL",
        f"""CREATE TRIGGER {_table}_guard_update BEFORE UPDATE ON {_table}
            FOR EACH ROW EXECUTE FUNCTION guard_resource_update()""",
        f"""CREATE TRIGGER {_table}_forbid_erase BEFORE DELETE ON {_table}
            FOR EACH ROW EXECUTE FUNCTION forbid_erase()""",
    ]

DOWNGRADE = [
    "DROP TABLE events",
    "DROP FUNCTION forbid_event_change()",
    "DROP TABLE appearances",
    "DROP TABLE statements",
    "DROP TABLE documents",
    "DROP TABLE affiliations",
    "DROP TABLE people",
    "DROP TABLE organizations",
    "DROP FUNCTION immutable_array_to_string(text[], text)",
    "DROP FUNCTION forbid_erase()",
    "DROP FUNCTION guard_resource_update()",
    "DROP TYPE event_action",
    "DROP TYPE resource_type",
    "DROP TYPE visibility",
    "DROP TYPE statement_medium",
    "DROP TYPE document_kind",
    "DROP TYPE organization_kind",
    "DROP EXTENSION IF EXISTS pg_trgm",
]


def upgrade() -> None:
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    for statement in DOWNGRADE:
        op.execute(statement)
