#!/bin/sh
# Runs once, when the primary's data folder is first made (the postgres image runs the files in
# /docker-entrypoint-initdb.d): a role and a physical replication slot for the streaming replica,
# and a pg_hba.conf line that lets it in. The slot keeps WAL the replica has not received yet.
set -eu

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  --set password="$REPLICATION_PASSWORD" <<'SQL'
create role replicator with replication login password :'password';
select pg_create_physical_replication_slot('replica_1');
SQL

echo "host replication replicator all scram-sha-256" >>"$PGDATA/pg_hba.conf"
