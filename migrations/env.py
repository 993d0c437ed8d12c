"""Alembic environment: plain-SQL migrations over a sync psycopg connection.

There is no ORM metadata (target_metadata = None); every revision is hand-written SQL.
The URL comes from DATABASE_URL (or `-x url=...`), in the same postgresql:// form the
service uses, and is handed to SQLAlchemy with the psycopg 3 driver.
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import create_engine, pool


def _sqlalchemy_url() -> str:
    url = (
        context.config.attributes.get("url")
        or context.get_x_argument(as_dictionary=True).get("url")
        or os.environ.get("DATABASE_URL")
    )
    if not url:
        raise SystemExit("DATABASE_URL is not set: give a postgresql:// URL to migrate")
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def run_migrations_offline() -> None:
    context.configure(url=_sqlalchemy_url(), target_metadata=None, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    # A migration rewrites tables and builds indexes: on a big database that takes far
    # longer than the statement_timeout that migration 0010 sets on the database for
    # requests, which would cancel it half way (in its transaction: nothing lost, but
    # nothing migrated either).
    engine = create_engine(
        _sqlalchemy_url(),
        poolclass=pool.NullPool,
        connect_args={"options": "-c statement_timeout=0"},
    )
    with engine.connect() as connection:
        context.configure(
            connection=connection, target_metadata=None, transaction_per_migration=True
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
