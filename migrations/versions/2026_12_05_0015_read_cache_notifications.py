"""Read-cache notifications: every process's read cache learns, when a write commits,
which ids it may have changed (service/web/read_cache.py).

A trigger on the event log, where every write lands (bulk paths included), announces
`{"kind": "reads", "ids": "<id>,<id>,..."}` on the channel the service listens on.
The cache drops every entry whose bytes contain one of the ids, so the set must cover
whatever a cached representation shows:

- each event's own resource (a statement, a person, an assessment...);
- an assessment's subject (its `verification` follows the assessment);
- a relation's source and target (a target's denials, a record's related items);
- for a statement or document, the other end of each of its live relations (a source
  made internal no longer denies its target for the public; deleting one deletes its
  relations, whose own events announce both ends). Live only, so that the partial
  indexes `relations_by_source` and `relations_by_target` find them.

Statement-level with a transition table: one message per INSERT of events, which
PostgreSQL sends at commit and folds when identical within a transaction. A payload
over PostgreSQL's limit (8000 bytes) becomes `{"kind": "reads", "all": true}`: the
caches are cleared instead.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05
"""

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

UPGRADE = [
    """CREATE FUNCTION notify_read_changes() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        ids text;
    BEGIN
        SELECT string_agg(DISTINCT changed.id::text, ',') INTO ids FROM (
            SELECT e.resource_id AS id FROM new_events e
            UNION ALL
            SELECT a.subject_id FROM new_events e
            JOIN assessments a ON e.resource_type = 'assessment' AND a.id = e.resource_id
            UNION ALL
            SELECT unnest(ARRAY[r.source_id, r.target_id]) FROM new_events e
            JOIN relations r ON e.resource_type = 'relation' AND r.id = e.resource_id
            UNION ALL
            SELECT r.target_id FROM new_events e
            JOIN relations r ON r.source_id = e.resource_id AND r.deleted_at IS NULL
            WHERE e.resource_type IN ('statement', 'document')
            UNION ALL
            SELECT r.source_id FROM new_events e
            JOIN relations r ON r.target_id = e.resource_id AND r.deleted_at IS NULL
            WHERE e.resource_type IN ('statement', 'document')
        ) AS changed
        WHERE changed.id IS NOT NULL;
        IF ids IS NULL THEN
            RETURN NULL;
        END IF;
        IF octet_length(ids) > 7900 THEN
            PERFORM pg_notify('verification_record', '{"kind": "reads", "all": true}');
        ELSE
            PERFORM pg_notify('verification_record',
                              json_build_object('kind', 'reads', 'ids', ids)::text);
        END IF;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER events_notify_reads AFTER INSERT ON events
        REFERENCING NEW TABLE AS new_events
        FOR EACH STATEMENT EXECUTE FUNCTION notify_read_changes()""",
]

DOWNGRADE = [
    "DROP TRIGGER events_notify_reads ON events",
    "DROP FUNCTION notify_read_changes()",
]


def upgrade() -> None:
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    for statement in DOWNGRADE:
        op.execute(statement)
