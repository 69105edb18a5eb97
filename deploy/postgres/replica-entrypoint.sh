#!/bin/sh
# The streaming replica. On first start (an empty data folder) it copies the primary with
# pg_basebackup -R, which also writes the standby settings (standby.signal, primary_conninfo);
# then it runs as a hot standby, answering read-only queries and following the primary through
# the slot primary-init.sh made.
set -eu

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  until pg_isready --host "$PRIMARY_HOST" --quiet; do sleep 1; done
  PGPASSWORD="$REPLICATION_PASSWORD" pg_basebackup --host "$PRIMARY_HOST" --username replicator \
    --pgdata "$PGDATA" --write-recovery-conf --wal-method stream --slot replica_1 --checkpoint fast
  # postgres refuses a data folder others can read; the image's volume starts out world-writable.
  chmod 0700 "$PGDATA"
fi

exec postgres
