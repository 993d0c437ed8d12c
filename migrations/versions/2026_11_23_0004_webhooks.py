"""Webhooks: subscriptions, an outbox of deliveries and the log of delivery attempts.

The outbox is filled by a trigger on the event log, not by the application: every
change already writes its event in its own transaction, so a delivery row for each
matching webhook commits (or rolls back) with the change itself, and no write path can
forget to enqueue one. Workers claim due deliveries with FOR UPDATE SKIP LOCKED.

The signing secret is stored as is: unlike an API key it is needed to sign, so it
cannot be hashed. It leaves the service once, in the response that created it.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

UPGRADE = [
    """CREATE TABLE webhooks (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        url text NOT NULL CHECK (url ~* '^https?://[^/?#\\s]' AND char_length(url) <= 2048),
        events text[] NOT NULL CHECK (
            cardinality(events) BETWEEN 1 AND 50
            AND immutable_array_to_string(events, ',')
                ~ '^(\\*|[a-z_]+\\.[a-z_]+)(,(\\*|[a-z_]+\\.[a-z_]+))*$'),
        active boolean NOT NULL DEFAULT true,
        secret text NOT NULL CHECK (secret ~ '^whsec_[A-Za-z0-9+/]{32,}={0,2}$'),
        version integer NOT NULL DEFAULT 1 CHECK (version >= 1),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        deleted_at timestamptz
    )""",
    "CREATE INDEX webhooks_page ON webhooks (created_at DESC, id DESC) WHERE deleted_at IS NULL",
    # The same rules as every resource: version +1 per change, frozen once deleted,
    # never erased.
    """CREATE TRIGGER webhooks_guard_update BEFORE UPDATE ON webhooks
        FOR EACH ROW EXECUTE FUNCTION guard_resource_update()""",
    """CREATE TRIGGER webhooks_forbid_erase BEFORE DELETE ON webhooks
        FOR EACH ROW EXECUTE FUNCTION forbid_erase()""",
    # pending: not tried yet; failed: the last attempt failed and another is scheduled;
    # succeeded: a 2xx answer; dead: given up (attempts exhausted, 410, webhook disabled).
    "CREATE TYPE webhook_delivery_status AS ENUM ('pending', 'failed', 'succeeded', 'dead')",
    # No foreign key to events: nothing can leave the append-only log anyway, and a
    # reference would make TRUNCATE events fail on the key before the log's own guard.
    """CREATE TABLE webhook_deliveries (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        webhook_id uuid NOT NULL REFERENCES webhooks (id),
        event_id bigint NOT NULL,
        status webhook_delivery_status NOT NULL DEFAULT 'pending',
        attempts smallint NOT NULL DEFAULT 0 CHECK (attempts >= 0),
        next_attempt_at timestamptz DEFAULT now(),
        last_status_code smallint CHECK (last_status_code BETWEEN 100 AND 999),
        last_error text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        delivered_at timestamptz,
        UNIQUE (webhook_id, event_id),
        CHECK ((status IN ('pending', 'failed')) = (next_attempt_at IS NOT NULL)),
        CHECK ((status = 'succeeded') = (delivered_at IS NOT NULL))
    )""",
    # What workers poll: only deliveries still to be made are in this index.
    """CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
        WHERE status IN ('pending', 'failed')""",
    """CREATE INDEX webhook_deliveries_page
        ON webhook_deliveries (webhook_id, created_at DESC, id DESC)""",
    # One row per attempt; the key makes recording the same attempt twice impossible.
    """CREATE TABLE webhook_attempts (
        delivery_id uuid NOT NULL REFERENCES webhook_deliveries (id),
        number smallint NOT NULL CHECK (number >= 1),
        attempted_at timestamptz NOT NULL,
        duration_ms integer NOT NULL CHECK (duration_ms >= 0),
        status_code smallint CHECK (status_code BETWEEN 100 AND 999),
        error text,
        PRIMARY KEY (delivery_id, number)
    )""",
    # Statement-level with a transition table: a bulk insert of events (record_events)
    # enqueues all its deliveries in one INSERT ... SELECT.
    """CREATE FUNCTION enqueue_webhook_deliveries() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO webhook_deliveries (webhook_id, event_id)
        SELECT w.id, e.id
        FROM new_events e
        JOIN webhooks w ON w.active AND w.deleted_at IS NULL
            AND w.events && ARRAY['*', e.resource_type::text || '.' || e.action::text];
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER events_enqueue_webhook_deliveries AFTER INSERT ON events
        REFERENCING NEW TABLE AS new_events
        FOR EACH STATEMENT EXECUTE FUNCTION enqueue_webhook_deliveries()""",
]

DOWNGRADE = [
    "DROP TRIGGER events_enqueue_webhook_deliveries ON events",
    "DROP FUNCTION enqueue_webhook_deliveries()",
    "DROP TABLE webhook_attempts",
    "DROP TABLE webhook_deliveries",
    "DROP TYPE webhook_delivery_status",
    "DROP TABLE webhooks",
]


def upgrade() -> None:
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    for statement in DOWNGRADE:
        op.execute(statement)
