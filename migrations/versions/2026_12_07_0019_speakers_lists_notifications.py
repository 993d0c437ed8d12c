"""Read-cache notifications name a statement's speaker too, so that the public's list of
a speaker's statements (`GET /v1/statements?speaker_id=`) can be cached
(service/domain/statements/controller.py).

A cached page is tagged with the ids its bytes contain and with its speaker. What can
change the page without naming an id it contains is a statement of that speaker that
is not on it: one created, made public, or deleted or moved to another speaker before
it (the pages after shift). So:

- `notify_read_changes` (migration 0015) also announces, for every statement event, the
  statement's speaker as it is now (created, changed, deleted: the row keeps its
  speaker);
- a row trigger on `statements` announces the speaker a statement leaves when its
  `speaker_id` changes (the event only knows the new one).

The cost: any write of a statement drops the cached representations that name its
speaker (their GET-one and records among them), a miss each on the next read.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07
"""

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

# 0015's body, with the speakers of statement events when `speakers` is set.
_NOTIFY_READ_CHANGES = """CREATE OR REPLACE FUNCTION notify_read_changes() RETURNS trigger
    LANGUAGE plpgsql AS $$
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
            WHERE e.resource_type IN ('statement', 'document'){speakers}
        ) AS changed
        WHERE changed.id IS NOT NULL;
        IF ids IS NULL THEN
            RETURN NULL;
        END IF;
        IF octet_length(ids) > 7900 THEN
            PERFORM pg_notify('verification_record', '{{"kind": "reads", "all": true}}');
        ELSE
            PERFORM pg_notify('verification_record',
                              json_build_object('kind', 'reads', 'ids', ids)::text);
        END IF;
        RETURN NULL;
    END $$"""

_SPEAKERS = """
            UNION ALL
            SELECT s.speaker_id FROM new_events e
            JOIN statements s ON e.resource_type = 'statement' AND s.id = e.resource_id"""

UPGRADE = [
    _NOTIFY_READ_CHANGES.format(speakers=_SPEAKERS),
    """CREATE FUNCTION notify_speaker_left() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_notify('verification_record',
                          json_build_object('kind', 'reads', 'ids', OLD.speaker_id::text)::text);
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER statements_notify_speaker_left AFTER UPDATE OF speaker_id ON statements
        FOR EACH ROW WHEN (OLD.speaker_id IS DISTINCT FROM NEW.speaker_id)
        EXECUTE FUNCTION notify_speaker_left()""",
]

DOWNGRADE = [
    "DROP TRIGGER statements_notify_speaker_left ON statements",
    "DROP FUNCTION notify_speaker_left()",
    _NOTIFY_READ_CHANGES.format(speakers=""),
]


def upgrade() -> None:
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    for statement in DOWNGRADE:
        op.execute(statement)
