import { type Kysely, sql } from "kysely";
import type { Tables } from "../db/tables.js";

export interface Lag {
  /** Events of the projection's streams in the log after its checkpoint. */
  events: number;
  /** How long the oldest of them has been waiting; 0 when there are none. */
  seconds: number;
}

/**
 * The PostgreSQL event store's checkpoint, `<transaction id>:<global position>`
 * (src/eventstore/postgres). The port calls it opaque; counting what lies after it in SQL is the
 * one place that reads it, because paging the whole log through `readAll` to count is too slow.
 */
export function logPosition(checkpoint: string | null): { transactionId: string; position: string } {
  if (checkpoint === null) return { transactionId: "0", position: "0" };
  const match = /^(\d{1,20}):(\d{1,20})$/.exec(checkpoint);
  if (!match) throw new Error(`Checkpoint ${JSON.stringify(checkpoint)} is not <transaction id>:<position>`);
  return { transactionId: match[1] as string, position: match[2] as string };
}

/** How far a reader at `checkpoint` (null: the start) is behind the log, for streams starting with `prefix`. */
export async function lagBehind(db: Kysely<Tables>, checkpoint: string | null, prefix: string): Promise<Lag> {
  const { transactionId, position } = logPosition(checkpoint);
  const { rows } = await sql<{ events: string; seconds: number | null }>`
    select count(*) as events,
           extract(epoch from clock_timestamp() - min(recorded_at))::float8 as seconds
    from events
    where (transaction_id, global_position) > (${transactionId}::xid8, ${position}::bigint)
      and starts_with(stream_id, ${prefix})`.execute(db);
  const row = rows[0];
  return { events: Number(row?.events ?? 0), seconds: Math.max(0, Number(row?.seconds ?? 0)) };
}
