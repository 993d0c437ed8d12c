"""Webhook delivery retention: finished deliveries (succeeded or dead) and their
attempts are deleted once older than WEBHOOK_DELIVERY_RETENTION_DAYS, by the delivery
workers, in small batches. This index finds them oldest first without reading the
outbox; deliveries still to be made are never in it.

Built concurrently: the outbox takes a row in the transaction of every change, so a
plain CREATE INDEX would hold up every write for as long as the build runs.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.get_context().autocommit_block():
        op.execute(
            """CREATE INDEX CONCURRENTLY IF NOT EXISTS webhook_deliveries_finished
            ON webhook_deliveries (updated_at) WHERE status IN ('succeeded', 'dead')"""
        )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.execute("DROP INDEX CONCURRENTLY IF EXISTS webhook_deliveries_finished")
