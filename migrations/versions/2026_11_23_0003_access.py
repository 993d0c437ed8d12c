"""Access: API keys, shared rate-limit counters and idempotency records.

Keys are stored as a SHA-256 of the secret (the secret has 256 bits of entropy, so a
fast hash is enough); the secret itself is shown once and never stored. Rate-limit
counters and idempotency records live here so that every worker and replica shares them.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

UPGRADE = [
    "CREATE TYPE api_scope AS ENUM ('read', 'write', 'admin')",
    """CREATE TABLE api_keys (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name text NOT NULL CHECK (name ~ '\\S' AND char_length(name) <= 200),
        scope api_scope NOT NULL,
        prefix text NOT NULL UNIQUE CHECK (prefix ~ '^vr_[a-z0-9]{8}$'),
        secret_sha256 bytea NOT NULL UNIQUE CHECK (length(secret_sha256) = 32),
        created_at timestamptz NOT NULL DEFAULT now(),
        last_used_at timestamptz,
        expires_at timestamptz,
        revoked_at timestamptz
    )""",
    "CREATE INDEX api_keys_page ON api_keys (created_at DESC, id DESC)",
    # One row per (caller, window): workers add what they counted since their last
    # flush and read back the total, so a limit holds across processes and replicas.
    # UNLOGGED: counters of the current minute are not worth WAL and replication (after
    # a crash or a failover they start from zero, i.e. a fresh window). Free space on
    # each page lets the constant `hits` updates stay HOT (no index entry per update).
    """CREATE UNLOGGED TABLE rate_limit_windows (
        bucket text NOT NULL,
        window_start timestamptz NOT NULL,
        hits integer NOT NULL CHECK (hits >= 0),
        PRIMARY KEY (bucket, window_start)
    ) WITH (fillfactor = 70)""",
    "CREATE INDEX rate_limit_windows_age ON rate_limit_windows (window_start)",
    # The first response to a POST with an Idempotency-Key, written in the same
    # transaction as the change it made; kept 24 hours. `body` is NULL when the response
    # held a secret (a new API key): that is never stored, only the fact it was sent.
    """CREATE TABLE idempotency_keys (
        caller text NOT NULL,
        key text NOT NULL CHECK (char_length(key) BETWEEN 1 AND 255),
        request_sha256 bytea NOT NULL,
        status_code integer NOT NULL,
        headers jsonb NOT NULL DEFAULT '{}',
        body bytea,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (caller, key)
    )""",
    "CREATE INDEX idempotency_keys_age ON idempotency_keys (created_at)",
]

DOWNGRADE = [
    "DROP TABLE idempotency_keys",
    "DROP TABLE rate_limit_windows",
    "DROP TABLE api_keys",
    "DROP TYPE api_scope",
]


def upgrade() -> None:
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    for statement in DOWNGRADE:
        op.execute(statement)
