"""Verification as a read model: `verifications` holds every statement's and document's
verification, kept current by triggers in the transaction of each write that moves it.

A read used to compute it from scratch (the current published assessment, the distinct
live organizations confirming it, the live denials, counted twice: for the newsroom and
for the public) for every subject it showed: a record with fifty related items ran that
fifty times. Now it reads one row by primary key.

- `verifications_from_scratch(subjects)`: the definition, in one place. The triggers
  recompute with it, the backfill fills the table with it, and the property test
  (tests/test_verification_read_model.py) compares every row against it.
- `verifications`: one row per statement and document (the deleted ones too, so that a
  row is never missing), both audiences in one row: the assessment and corroborations
  are the same for both; `denials` counts for the newsroom and `public_denials` only
  denials from public statements and documents.
- `refresh_verifications(subjects)`: locks the subjects' rows in id order, then
  recomputes them and writes the rows that changed, announcing each on the service's
  channel as `{"kind": "verifications", "id": <subject>}` (for caches of what shows
  it; delivered at commit, like the badges' notifications of 0005). Two writers touching overlapping
  subjects queue on the rows instead of deadlocking, and the one that waited recomputes
  with a snapshot taken after the other committed (READ COMMITTED takes one per
  statement), so neither leaves a stale row.
- Statement-level triggers with transition tables on statements, documents, relations,
  assessments, evidence and organizations call it once per SQL statement with the
  subjects that statement may have moved.

Why triggers rather than calls in the services: every write path is covered, including
the cascades the database already does (a deleted subject's relations, migration 0007),
bulk imports and `INSERT ... SELECT` writes that no service sees, and a write path added
later cannot forget it. Statement-level, so a bulk write recomputes each subject once.

Corroborations now count live organizations only, as the record's `corroborations` list
and the public card's `corroborated_by` always did: a deleted organization no longer
counts in one place while missing from the other.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05
"""

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

UPGRADE = [
    # The definition of the verification object. STABLE: it sees the snapshot of the
    # statement that calls it.
    """CREATE FUNCTION verifications_from_scratch(subjects uuid[])
    RETURNS TABLE (subject_id uuid, assessment_id uuid, verdict verdict,
                   published_at timestamptz, corroborations integer, denials integer,
                   public_denials integer)
    LANGUAGE sql STABLE AS $$
        SELECT s.id, cur.id, cur.verdict, cur.published_at,
            (SELECT count(DISTINCT ev.organization_id) FROM evidence ev
             JOIN organizations o ON o.id = ev.organization_id AND o.deleted_at IS NULL
             WHERE ev.assessment_id = cur.id AND ev.kind = 'confirmation'
               AND ev.stance = 'supports')::integer,
            d.denials, d.public_denials
        FROM (SELECT DISTINCT unnest(subjects) AS id) AS s
        -- The current assessment: the newest published one (superseded and retracted
        -- ones no longer speak for the subject; drafts never do).
        LEFT JOIN LATERAL (
            SELECT a.id, a.verdict, a.published_at FROM assessments a
            WHERE a.subject_id = s.id AND a.state = 'published' AND a.deleted_at IS NULL
            ORDER BY a.published_at DESC, a.id DESC LIMIT 1) AS cur ON true
        -- Live denies relations from live statements and documents; the public counts
        -- only those from public ones.
        CROSS JOIN LATERAL (
            SELECT count(*)::integer AS denials,
                count(*) FILTER (
                    WHERE coalesce(rs.visibility, rd.visibility) = 'public')::integer
                    AS public_denials
            FROM relations r
            LEFT JOIN statements rs ON rs.id = r.source_statement_id
            LEFT JOIN documents rd ON rd.id = r.source_document_id
            WHERE r.target_id = s.id AND r.type = 'denies' AND r.deleted_at IS NULL
              AND coalesce(rs.deleted_at, rd.deleted_at) IS NULL) AS d
    $$""",
    """CREATE TABLE verifications (
        subject_id uuid PRIMARY KEY,
        assessment_id uuid REFERENCES assessments (id),
        verdict verdict,
        published_at timestamptz,
        corroborations integer NOT NULL DEFAULT 0,
        denials integer NOT NULL DEFAULT 0,
        public_denials integer NOT NULL DEFAULT 0,
        CHECK (num_nulls(assessment_id, verdict, published_at) IN (0, 3)),
        CHECK (assessment_id IS NOT NULL OR corroborations = 0),
        CHECK (corroborations >= 0 AND public_denials >= 0 AND public_denials <= denials)
    )""",
    # Lists filtered by verdict find their subjects here.
    "CREATE INDEX verifications_by_verdict ON verifications (verdict) WHERE verdict IS NOT NULL",
    # An organization's deletion finds the assessments that cite it.
    """CREATE INDEX evidence_by_organization ON evidence (organization_id)
        WHERE kind = 'confirmation'""",
    # A generic plan: the generic plan's estimate (ten subjects for an array it cannot
    # see) looks dearer than each custom plan's (one), so the plan cache planned the
    # recompute afresh on every call: 1.07 ms a refresh of one subject on the bench
    # corpus, 0.24 ms with the generic plan.
    """CREATE FUNCTION refresh_verifications(subjects uuid[]) RETURNS void
    LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
    DECLARE
        changed uuid;
    BEGIN
        IF cardinality(subjects) = 0 THEN
            RETURN;
        END IF;
        PERFORM 1 FROM verifications WHERE subject_id = ANY (subjects)
            ORDER BY subject_id FOR UPDATE;
        FOR changed IN
            UPDATE verifications v SET assessment_id = f.assessment_id, verdict = f.verdict,
                published_at = f.published_at, corroborations = f.corroborations,
                denials = f.denials, public_denials = f.public_denials
            FROM verifications_from_scratch(subjects) f
            WHERE v.subject_id = f.subject_id
              AND (v.assessment_id, v.verdict, v.published_at, v.corroborations, v.denials,
                   v.public_denials)
                  IS DISTINCT FROM
                  (f.assessment_id, f.verdict, f.published_at, f.corroborations, f.denials,
                   f.public_denials)
            RETURNING v.subject_id
        LOOP
            -- The subject's representation changed, maybe without a write to its own row
            -- (a new denial of it): whatever caches it learns so at commit.
            PERFORM pg_notify('verification_record',
                              json_build_object('kind', 'verifications', 'id', changed)::text);
        END LOOP;
    END $$""",
    # A new statement or document is unassessed and denied by nothing (nothing can point
    # at a row that did not exist).
    """CREATE FUNCTION verifications_of_new_subjects() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO verifications (subject_id) SELECT id FROM new_rows;
        RETURN NULL;
    END $$""",
    # A statement or document deleted or changing visibility moves the denials of what
    # it denies. Deleted rows never change again (guard_resource_update).
    """CREATE FUNCTION verifications_follow_denier() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM refresh_verifications(array(
            SELECT DISTINCT r.target_id FROM new_rows n JOIN old_rows o ON o.id = n.id
            JOIN relations r ON r.source_id = n.id AND r.deleted_at IS NULL
            WHERE r.type = 'denies'
              AND (n.deleted_at, n.visibility) IS DISTINCT FROM (o.deleted_at, o.visibility)));
        RETURN NULL;
    END $$""",
    # Only a denies relation counts; relations are created and soft-deleted, never edited.
    """CREATE FUNCTION verifications_follow_relations() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            PERFORM refresh_verifications(array(
                SELECT DISTINCT target_id FROM new_rows WHERE type = 'denies'));
        ELSE
            PERFORM refresh_verifications(array(
                SELECT DISTINCT n.target_id FROM new_rows n JOIN old_rows o ON o.id = n.id
                WHERE n.type = 'denies' AND n.deleted_at IS DISTINCT FROM o.deleted_at));
        END IF;
        RETURN NULL;
    END $$""",
    # A draft never counts: only rows that are or were past the draft move anything (an
    # import may insert one already published).
    """CREATE FUNCTION verifications_follow_assessments() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            PERFORM refresh_verifications(array(
                SELECT DISTINCT subject_id FROM new_rows WHERE state <> 'draft'));
        ELSE
            PERFORM refresh_verifications(array(
                SELECT DISTINCT x.subject_id FROM new_rows n JOIN old_rows o ON o.id = n.id
                CROSS JOIN LATERAL (VALUES (n.subject_id), (o.subject_id)) AS x (subject_id)
                WHERE (n.state <> 'draft' OR o.state <> 'draft')
                  AND (n.state, n.deleted_at, n.published_at, n.verdict, n.subject_id)
                      IS DISTINCT FROM (o.state, o.deleted_at, o.published_at, o.verdict,
                                        o.subject_id)));
        END IF;
        RETURN NULL;
    END $$""",
    # Evidence is frozen past the draft (guard_evidence_change), so today this finds
    # nothing; it keeps the table right should that rule ever loosen.
    """CREATE FUNCTION verifications_follow_evidence() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            PERFORM refresh_verifications(array(
                SELECT DISTINCT a.subject_id FROM new_rows e
                JOIN assessments a ON a.id = e.assessment_id WHERE a.state <> 'draft'));
        ELSIF TG_OP = 'DELETE' THEN
            PERFORM refresh_verifications(array(
                SELECT DISTINCT a.subject_id FROM old_rows e
                JOIN assessments a ON a.id = e.assessment_id WHERE a.state <> 'draft'));
        ELSE
            PERFORM refresh_verifications(array(
                SELECT DISTINCT a.subject_id
                FROM (SELECT assessment_id FROM new_rows UNION SELECT assessment_id FROM old_rows) e
                JOIN assessments a ON a.id = e.assessment_id WHERE a.state <> 'draft'));
        END IF;
        RETURN NULL;
    END $$""",
    # A deleted organization stops counting among the corroborations of the current
    # assessments that cite it.
    """CREATE FUNCTION verifications_follow_organizations() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM refresh_verifications(array(
            SELECT DISTINCT v.subject_id FROM new_rows n JOIN old_rows o ON o.id = n.id
            JOIN evidence ev ON ev.organization_id = n.id AND ev.kind = 'confirmation'
            JOIN verifications v ON v.assessment_id = ev.assessment_id
            WHERE n.deleted_at IS DISTINCT FROM o.deleted_at));
        RETURN NULL;
    END $$""",
    "CREATE INDEX verifications_by_assessment ON verifications (assessment_id) WHERE assessment_id IS NOT NULL",
]

# (table, trigger function, events): one trigger per event, since a trigger with
# transition tables may have only one.
TRIGGERS = [
    ("statements", "verifications_of_new_subjects", ("INSERT",)),
    ("documents", "verifications_of_new_subjects", ("INSERT",)),
    ("statements", "verifications_follow_denier", ("UPDATE",)),
    ("documents", "verifications_follow_denier", ("UPDATE",)),
    ("relations", "verifications_follow_relations", ("INSERT", "UPDATE")),
    ("assessments", "verifications_follow_assessments", ("INSERT", "UPDATE")),
    ("evidence", "verifications_follow_evidence", ("INSERT", "UPDATE", "DELETE")),
    ("organizations", "verifications_follow_organizations", ("UPDATE",)),
]

REFERENCING = {
    "INSERT": "NEW TABLE AS new_rows",
    "UPDATE": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
    "DELETE": "OLD TABLE AS old_rows",
}


def _trigger_name(table: str, event: str) -> str:
    return f"{table}_verifications_{event.lower()}"


for _table, _function, _events in TRIGGERS:
    for _event in _events:
        UPGRADE.append(
            f"""CREATE TRIGGER {_trigger_name(_table, _event)} AFTER {_event} ON {_table}
            REFERENCING {REFERENCING[_event]}
            FOR EACH STATEMENT EXECUTE FUNCTION {_function}()"""
        )

# Every subject there is, the deleted ones too. On a large database that takes longer
# than the database's statement_timeout (migration 0010): lifted for this transaction.
UPGRADE.append("SET LOCAL statement_timeout = 0")
UPGRADE.append(
    """INSERT INTO verifications
    SELECT * FROM verifications_from_scratch(array(
        SELECT id FROM statements UNION ALL SELECT id FROM documents))"""
)

DOWNGRADE = [
    *(
        f"DROP TRIGGER {_trigger_name(table, event)} ON {table}"
        for table, _, events in reversed(TRIGGERS)
        for event in events
    ),
    *(f"DROP FUNCTION {name}()" for name in dict.fromkeys(f for _, f, _ in TRIGGERS)),
    "DROP FUNCTION refresh_verifications(uuid[])",
    "DROP INDEX evidence_by_organization",
    "DROP TABLE verifications",
    "DROP FUNCTION verifications_from_scratch(uuid[])",
]


def upgrade() -> None:
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    for statement in DOWNGRADE:
        op.execute(statement)
