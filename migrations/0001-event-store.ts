import { type Kysely, sql } from "kysely";

/**
 * The event store: one row per stream holding its last revision (the row lock serialises a
 * stream's writers), and the events. `transaction_id` makes the global log gap-safe: readers
 * only take events of transactions older than every transaction still running, and page by
 * (transaction_id, global_position), so an event that commits late is never skipped.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table streams (
      stream_id text primary key,
      revision bigint not null
    )`.execute(db);
  await sql`
    create table events (
      global_position bigint generated always as identity primary key,
      transaction_id xid8 not null default pg_current_xact_id(),
      event_id uuid not null unique,
      stream_id text not null,
      stream_revision bigint not null,
      type text not null,
      data jsonb not null,
      metadata jsonb not null,
      recorded_at timestamptz not null default now(),
      unique (stream_id, stream_revision)
    )`.execute(db);
  await sql`create index events_log_order on events (transaction_id, global_position)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table events`.execute(db);
  await sql`drop table streams`.execute(db);
}
