#!/bin/sh
# The primary of the `scale` profile (docker-compose.yml), once, when its data directory
# is created: the postgres image runs (or sources) every script in
# /docker-entrypoint-initdb.d. It adds a role that may only stream the WAL, and the
# pg_hba.conf line that lets the read replica connect as that role for replication.
set -e

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    --set=password="$REPLICATION_PASSWORD" <<'SQL'
CREATE ROLE replicator WITH REPLICATION LOGIN PASSWORD :'password';
SQL
echo "host replication replicator all scram-sha-256" >> "$PGDATA/pg_hba.conf"
