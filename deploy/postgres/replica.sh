#!/bin/sh
# The read replica of the `scale` profile (docker-compose.yml), as the postgres user.
# On its first start (an empty data directory) it copies the primary with
# pg_basebackup -R, which also writes standby.signal and primary_conninfo: the server
# then starts as a hot standby streaming the primary's WAL. Later starts only resume
# streaming. PRIMARY_HOST names the primary; PGPASSWORD is the replicator's password.
set -eu

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    tries=0
    # pg_basebackup empties the directory again when it fails, so it can be retried.
    until pg_basebackup --pgdata="$PGDATA" --host="$PRIMARY_HOST" --username=replicator \
        --write-recovery-conf --wal-method=stream --checkpoint=fast; do
        tries=$((tries + 1))
        if [ "$tries" -ge 30 ]; then
            echo "replica: pg_basebackup from $PRIMARY_HOST failed $tries times; giving up" >&2
            exit 1
        fi
        echo "replica: pg_basebackup from $PRIMARY_HOST failed; retrying in 2 s" >&2
        sleep 2
    done
    # PostgreSQL refuses a data directory that others may read (as the image's own is).
    chmod 0700 "$PGDATA"
fi

exec postgres
