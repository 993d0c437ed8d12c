"""The session settings the service needs, set on the database itself.

They were startup parameters of every pooled connection (`server_settings`), which
PgBouncer refuses ("unsupported startup parameter": it passes on only client_encoding,
DateStyle, TimeZone, standard_conforming_strings and application_name), and which a
`SET` could not replace: in transaction pooling the next transaction may run on
another server connection. A setting of the database is what every new session on it
starts with, whoever opens it (PgBouncer's server connections included), and `RESET`
or `DISCARD ALL` return to it.

- `statement_timeout` 5 s (`DB_STATEMENT_TIMEOUT_MS`' default): a runaway query is
  cancelled by the server. On the database, not per transaction, because reads run as
  a single statement outside any transaction (`SET LOCAL` would need a BEGIN and a
  COMMIT around every read: two more round trips).
- `idle_in_transaction_session_timeout` 60 s: a transaction whose client went silent
  (a process frozen mid-request) cannot hold its row locks and advisory locks forever.
  On the database for the same reason: it must hold whoever opened the transaction.
- `jit` off: JIT compilation costs a second on the first plan that looks big and buys
  nothing on short OLTP queries.

The service checks at start-up, and on every connection its pools open, that these are
in force (`service/kit/db.py`), and refuses to start with the statements to run when
they are not: a copy made with `CREATE DATABASE ... TEMPLATE`, or a dump restored
without `pg_restore --create`, does not carry a database's settings.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# The database's name is only known when the migration runs, and ALTER DATABASE takes
# no parameters: format() quotes it. A new session picks the settings up; sessions open
# now keep what they have.
UPGRADE = """DO $$ BEGIN
    EXECUTE format('ALTER DATABASE %I SET statement_timeout = %L', current_database(), '5s');
    EXECUTE format('ALTER DATABASE %I SET idle_in_transaction_session_timeout = %L',
                   current_database(), '60s');
    EXECUTE format('ALTER DATABASE %I SET jit = %L', current_database(), 'off');
END $$"""

DOWNGRADE = """DO $$ BEGIN
    EXECUTE format('ALTER DATABASE %I RESET statement_timeout', current_database());
    EXECUTE format('ALTER DATABASE %I RESET idle_in_transaction_session_timeout',
                   current_database());
    EXECUTE format('ALTER DATABASE %I RESET jit', current_database());
END $$"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
