"""Writes in a handful of round trips: the Idempotency-Key claim in one call.

`claim_idempotency_key(lock, caller, key, retention)` takes the key's transaction-scoped
advisory lock without waiting and, holding it, looks the key's live record up: what
two statements did before (service/web/idempotency.py). It is PL/pgSQL and VOLATILE
because the lookup must take its snapshot *after* the lock is held: under READ COMMITTED
each statement of a volatile function gets a fresh snapshot, so it sees the record of a
first request that committed (releasing the lock) a moment earlier, exactly as the
separate statement did. `locked` is false when another transaction holds the key; the
other columns are null when there is no live record.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

UPGRADE = [
    """CREATE FUNCTION claim_idempotency_key(
        lock bigint, p_caller text, p_key text, retention interval,
        OUT locked boolean, OUT request_sha256 bytea, OUT status_code integer,
        OUT headers text, OUT body bytea)
    LANGUAGE plpgsql VOLATILE AS $$
    BEGIN
        locked := pg_try_advisory_xact_lock(lock);
        IF NOT locked THEN
            RETURN;
        END IF;
        SELECT k.request_sha256, k.status_code, k.headers::text, k.body
        INTO request_sha256, status_code, headers, body
        FROM idempotency_keys k
        WHERE k.caller = p_caller AND k.key = p_key AND k.created_at > now() - retention;
    END
    $$""",
]

DOWNGRADE = [
    "DROP FUNCTION claim_idempotency_key(bigint, text, text, interval)",
]


def upgrade() -> None:
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    for statement in DOWNGRADE:
        op.execute(statement)
