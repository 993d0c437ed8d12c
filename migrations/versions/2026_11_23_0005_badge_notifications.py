"""Badge notifications: every process's badge cache learns of a change when it commits.

A trigger on the event log announces each statement or document whose badge may have
changed, on the channel the service listens on (`service.notifications.CHANNEL`), as
`{"kind": "badges", "id": <statement or document id>}`:

- an assessment published, superseded or retracted: its subject;
- a statement or document created, updated (its visibility, say) or deleted: itself.

NOTIFY is delivered only when the transaction commits, and a trigger cannot be
forgotten by a write path. Statement-level, with a transition table, so that a bulk
insert of events sends one message per subject (PostgreSQL also folds duplicates
within a transaction).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

UPGRADE = [
    """CREATE FUNCTION notify_badge_changes() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_notify('verification_record',
                          json_build_object('kind', 'badges', 'id', changed.subject_id)::text)
        FROM (
            SELECT DISTINCT CASE WHEN e.resource_type = 'assessment' THEN a.subject_id
                                 ELSE e.resource_id END AS subject_id
            FROM new_events e
            LEFT JOIN assessments a ON e.resource_type = 'assessment' AND a.id = e.resource_id
            WHERE e.resource_type IN ('statement', 'document')
               OR (e.resource_type = 'assessment'
                   AND e.action IN ('published', 'superseded', 'retracted'))
        ) AS changed
        WHERE changed.subject_id IS NOT NULL;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER events_notify_badges AFTER INSERT ON events
        REFERENCING NEW TABLE AS new_events
        FOR EACH STATEMENT EXECUTE FUNCTION notify_badge_changes()""",
]

DOWNGRADE = [
    "DROP TRIGGER events_notify_badges ON events",
    "DROP FUNCTION notify_badge_changes()",
]


def upgrade() -> None:
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    for statement in DOWNGRADE:
        op.execute(statement)
