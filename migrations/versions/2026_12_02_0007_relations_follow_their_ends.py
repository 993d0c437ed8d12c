"""A relation cannot outlive either end: when a statement or a document is deleted, the
database soft-deletes the live relations that touch it, each with its own `deleted`
event, in the same transaction.

This was done by the statements' and documents' services calling the relations'
service; the database owns it now, so that no resource folder reaches into another's
and every way of deleting a subject cascades the same.

The trigger is on the event log, not on the subject's row: the subject's `deleted`
event carries the actor (the key name), so each relation's event records the same
actor without any session state (a `set_config` would not survive transaction pooling
in PgBouncer), and the log keeps the order it had: the subject's event first, then its
relations'.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # PostgreSQL fires the triggers of one event in name order: this one's name sorts
    # after events_enqueue_webhook_deliveries and events_notify_badges, so the subject's
    # own outbox row and notification still come before its relations'.
    op.execute(
        """CREATE FUNCTION delete_relations_of_deleted_subject() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            WITH gone AS (
                UPDATE relations SET deleted_at = now()
                WHERE (source_id = NEW.resource_id OR target_id = NEW.resource_id)
                  AND deleted_at IS NULL
                RETURNING id, version)
            INSERT INTO events (resource_type, resource_id, action, version, actor)
            SELECT 'relation', gone.id, 'deleted', gone.version, NEW.actor FROM gone;
            RETURN NULL;
        END $$"""
    )
    op.execute(
        """CREATE TRIGGER events_relations_follow_deleted_subject AFTER INSERT ON events
        FOR EACH ROW
        WHEN (NEW.action = 'deleted' AND NEW.resource_type IN ('statement', 'document'))
        EXECUTE FUNCTION delete_relations_of_deleted_subject()"""
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER events_relations_follow_deleted_subject ON events")
    op.execute("DROP FUNCTION delete_relations_of_deleted_subject()")
