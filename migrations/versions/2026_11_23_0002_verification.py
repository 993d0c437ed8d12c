"""Verification: relations between statements and documents, and assessments with their
evidence and workflow.

The workflow draft -> published -> superseded | retracted is enforced here, not only in
the service: an illegal state change or an edit to a non-draft raises in SQL.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

STATEMENT_VERDICTS = (
    "true", "mostly_true", "mixed", "misleading", "mostly_false", "false", "unverifiable",
)  # fmt: skip
DOCUMENT_VERDICTS = (
    "authentic", "likely_authentic", "unverified", "disputed", "altered", "fabricated",
)  # fmt: skip


def _sql_list(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


UPGRADE = [
    "CREATE TYPE subject_type AS ENUM ('statement', 'document')",
    """CREATE TYPE relation_type AS ENUM (
        'denies', 'contradicts', 'confirms', 'supports', 'clarifies', 'retracts',
        'responds_to', 'cites')""",
    f"CREATE TYPE verdict AS ENUM ({_sql_list(STATEMENT_VERDICTS + DOCUMENT_VERDICTS)})",
    "CREATE TYPE assessment_state AS ENUM ('draft', 'published', 'superseded', 'retracted')",
    "CREATE TYPE evidence_kind AS ENUM ('url', 'statement', 'document', 'confirmation')",
    "CREATE TYPE evidence_stance AS ENUM ('supports', 'refutes', 'context')",
    # The human label of a verdict, as badges and the verification object show it.
    """CREATE FUNCTION verdict_label(verdict) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT CASE $1
            WHEN 'true' THEN 'True' WHEN 'mostly_true' THEN 'Mostly true'
            WHEN 'mixed' THEN 'Mixed' WHEN 'misleading' THEN 'Misleading'
            WHEN 'mostly_false' THEN 'Mostly false' WHEN 'false' THEN 'False'
            WHEN 'unverifiable' THEN 'Unverifiable' WHEN 'authentic' THEN 'Authentic'
            WHEN 'likely_authentic' THEN 'Likely authentic' WHEN 'unverified' THEN 'Unverified'
            WHEN 'disputed' THEN 'Disputed' WHEN 'altered' THEN 'Altered'
            WHEN 'fabricated' THEN 'Fabricated'
        END
    $$""",
    # ---- relations ---------------------------------------------------------------------
    # Each end is a statement or a document, held in one of two foreign-key columns so
    # that the database itself guarantees the end exists.
    """CREATE TABLE relations (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        source_statement_id uuid REFERENCES statements (id),
        source_document_id uuid REFERENCES documents (id),
        type relation_type NOT NULL,
        target_statement_id uuid REFERENCES statements (id),
        target_document_id uuid REFERENCES documents (id),
        note text,
        source_type subject_type GENERATED ALWAYS AS (
            CASE WHEN source_statement_id IS NOT NULL THEN 'statement'::subject_type
                 ELSE 'document'::subject_type END) STORED,
        source_id uuid GENERATED ALWAYS AS (coalesce(source_statement_id, source_document_id)) STORED,
        target_type subject_type GENERATED ALWAYS AS (
            CASE WHEN target_statement_id IS NOT NULL THEN 'statement'::subject_type
                 ELSE 'document'::subject_type END) STORED,
        target_id uuid GENERATED ALWAYS AS (coalesce(target_statement_id, target_document_id)) STORED,
        version integer NOT NULL DEFAULT 1 CHECK (version >= 1),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        deleted_at timestamptz,
        CHECK (num_nonnulls(source_statement_id, source_document_id) = 1),
        CHECK (num_nonnulls(target_statement_id, target_document_id) = 1),
        CHECK (coalesce(source_statement_id, source_document_id)
               <> coalesce(target_statement_id, target_document_id))
    )""",
    """CREATE UNIQUE INDEX relations_unique_live ON relations (source_id, type, target_id)
        WHERE deleted_at IS NULL""",
    "CREATE INDEX relations_by_source ON relations (source_id) WHERE deleted_at IS NULL",
    "CREATE INDEX relations_by_target ON relations (target_id, type) WHERE deleted_at IS NULL",
    "CREATE INDEX relations_page ON relations (created_at DESC, id DESC) WHERE deleted_at IS NULL",
    "CREATE INDEX relations_updated ON relations (updated_at) WHERE deleted_at IS NULL",
    # Relations are created and deleted, never edited: only deleted_at may change.
    """CREATE FUNCTION guard_relation_update() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF (NEW.source_statement_id, NEW.source_document_id, NEW.type, NEW.target_statement_id,
            NEW.target_document_id, NEW.note)
           IS DISTINCT FROM
           (OLD.source_statement_id, OLD.source_document_id, OLD.type, OLD.target_statement_id,
            OLD.target_document_id, OLD.note) THEN
            RAISE EXCEPTION 'relations are created and deleted, not edited'
                USING ERRCODE = 'object_not_in_prerequisite_state';
        END IF;
        RETURN NEW;
    END $$""",
    # ---- assessments -------------------------------------------------------------------
    f"""CREATE TABLE assessments (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        subject_statement_id uuid REFERENCES statements (id),
        subject_document_id uuid REFERENCES documents (id),
        verdict verdict NOT NULL,
        headline text NOT NULL CHECK (headline ~ '\\S' AND char_length(headline) <= 120),
        explanation text,
        url text CHECK (url ~* '^https?://'),
        author_organization_id uuid REFERENCES organizations (id),
        state assessment_state NOT NULL DEFAULT 'draft',
        published_at timestamptz,
        retracted_at timestamptz,
        retraction_reason text,
        supersedes_id uuid REFERENCES assessments (id),
        subject_type subject_type GENERATED ALWAYS AS (
            CASE WHEN subject_statement_id IS NOT NULL THEN 'statement'::subject_type
                 ELSE 'document'::subject_type END) STORED,
        subject_id uuid GENERATED ALWAYS AS (coalesce(subject_statement_id, subject_document_id)) STORED,
        version integer NOT NULL DEFAULT 1 CHECK (version >= 1),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        deleted_at timestamptz,
        CHECK (num_nonnulls(subject_statement_id, subject_document_id) = 1),
        CONSTRAINT verdict_fits_subject CHECK (
            (subject_statement_id IS NOT NULL AND verdict IN ({_sql_list(STATEMENT_VERDICTS)}))
            OR (subject_document_id IS NOT NULL AND verdict IN ({_sql_list(DOCUMENT_VERDICTS)}))),
        CONSTRAINT published_at_iff_past_draft CHECK ((state = 'draft') = (published_at IS NULL)),
        CONSTRAINT retracted_at_iff_retracted CHECK ((state = 'retracted') = (retracted_at IS NOT NULL)),
        CONSTRAINT retracted_has_time_and_reason CHECK (
            state <> 'retracted' OR (retracted_at IS NOT NULL AND retraction_reason ~ '\\S')),
        CHECK (supersedes_id IS DISTINCT FROM id)
    )""",
    "CREATE INDEX assessments_by_subject ON assessments (subject_id, state, published_at DESC) WHERE deleted_at IS NULL",
    "CREATE INDEX assessments_supersedes ON assessments (supersedes_id) WHERE supersedes_id IS NOT NULL",
    "CREATE INDEX assessments_page ON assessments (created_at DESC, id DESC) WHERE deleted_at IS NULL",
    "CREATE INDEX assessments_updated ON assessments (updated_at) WHERE deleted_at IS NULL",
    """CREATE TABLE evidence (
        assessment_id uuid NOT NULL REFERENCES assessments (id),
        position smallint NOT NULL CHECK (position >= 0),
        kind evidence_kind NOT NULL,
        url text CHECK (url ~* '^https?://'),
        statement_id uuid REFERENCES statements (id),
        document_id uuid REFERENCES documents (id),
        organization_id uuid REFERENCES organizations (id),
        stance evidence_stance NOT NULL DEFAULT 'supports',
        note text,
        PRIMARY KEY (assessment_id, position),
        CHECK (kind <> 'url' OR url IS NOT NULL),
        CHECK (kind <> 'statement' OR statement_id IS NOT NULL),
        CHECK (kind <> 'document' OR document_id IS NOT NULL),
        CHECK (kind <> 'confirmation' OR organization_id IS NOT NULL)
    )""",
    "CREATE INDEX evidence_confirmations ON evidence (assessment_id, organization_id) WHERE kind = 'confirmation'",
    # The workflow, guarded in SQL: only these state changes exist, and only a draft's
    # content may change. Supersede and retract stamp what they must.
    """CREATE FUNCTION guard_assessment_update() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NEW.state IS DISTINCT FROM OLD.state
           AND (OLD.state, NEW.state) NOT IN (('draft', 'published'), ('published', 'superseded'),
                                              ('published', 'retracted')) THEN
            RAISE EXCEPTION 'an assessment cannot go from % to %', OLD.state, NEW.state
                USING ERRCODE = 'object_not_in_prerequisite_state';
        END IF;
        IF OLD.state <> 'draft' THEN
            IF NEW.deleted_at IS DISTINCT FROM OLD.deleted_at THEN
                RAISE EXCEPTION 'a % assessment cannot be deleted; retract it', OLD.state
                    USING ERRCODE = 'object_not_in_prerequisite_state';
            END IF;
            -- Past the draft, a row changes only by a transition, and a transition
            -- changes nothing but the state and, for a retraction, its time and reason.
            IF NEW.state = OLD.state
               OR (NEW.subject_statement_id, NEW.subject_document_id, NEW.verdict, NEW.headline,
                   NEW.explanation, NEW.url, NEW.author_organization_id, NEW.supersedes_id,
                   NEW.published_at)
                  IS DISTINCT FROM
                  (OLD.subject_statement_id, OLD.subject_document_id, OLD.verdict, OLD.headline,
                   OLD.explanation, OLD.url, OLD.author_organization_id, OLD.supersedes_id,
                   OLD.published_at)
               OR (NEW.state <> 'retracted' AND (NEW.retracted_at, NEW.retraction_reason)
                   IS DISTINCT FROM (OLD.retracted_at, OLD.retraction_reason)) THEN
                RAISE EXCEPTION 'only draft assessments can be edited'
                    USING ERRCODE = 'object_not_in_prerequisite_state';
            END IF;
        END IF;
        RETURN NEW;
    END $$""",
    # Evidence of a non-draft assessment is frozen with it.
    """CREATE FUNCTION guard_evidence_change() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        owner_state assessment_state;
    BEGIN
        SELECT state INTO owner_state FROM assessments
            WHERE id = coalesce(NEW.assessment_id, OLD.assessment_id);
        IF owner_state IS DISTINCT FROM 'draft' THEN
            RAISE EXCEPTION 'the evidence of a % assessment cannot change', owner_state
                USING ERRCODE = 'object_not_in_prerequisite_state';
        END IF;
        RETURN coalesce(NEW, OLD);
    END $$""",
    """CREATE TRIGGER evidence_frozen BEFORE INSERT OR UPDATE OR DELETE ON evidence
        FOR EACH ROW EXECUTE FUNCTION guard_evidence_change()""",
    # Search finds statements by their speaker's name and aliases too: through this
    # index on people and the index on statements.speaker_id, without a copy of the name.
    "CREATE INDEX people_names_search ON people USING gin (to_tsvector('english', names))",
]

for _table in ("relations", "assessments"):
    UPGRADE += [
        f"""CREATE TRIGGER {_table}_guard_update BEFORE UPDATE ON {_table}
            FOR EACH ROW EXECUTE FUNCTION guard_resource_update()""",
        f"""CREATE TRIGGER {_table}_forbid_erase BEFORE DELETE ON {_table}
            FOR EACH ROW EXECUTE FUNCTION forbid_erase()""",
    ]
UPGRADE += [
    """CREATE TRIGGER relations_not_edited BEFORE UPDATE ON relations
        FOR EACH ROW EXECUTE FUNCTION guard_relation_update()""",
    """CREATE TRIGGER assessments_workflow BEFORE UPDATE ON assessments
        FOR EACH ROW EXECUTE FUNCTION guard_assessment_update()""",
]

DOWNGRADE = [
    "DROP INDEX people_names_search",
    "DROP TABLE evidence",
    "DROP FUNCTION guard_evidence_change()",
    "DROP TABLE assessments",
    "DROP FUNCTION guard_assessment_update()",
    "DROP TABLE relations",
    "DROP FUNCTION guard_relation_update()",
    "DROP FUNCTION verdict_label(verdict)",
    "DROP TYPE evidence_stance",
    "DROP TYPE evidence_kind",
    "DROP TYPE assessment_state",
    "DROP TYPE verdict",
    "DROP TYPE relation_type",
    "DROP TYPE subject_type",
]


def upgrade() -> None:
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    for statement in DOWNGRADE:
        op.execute(statement)
