import { type Kysely, sql } from "kysely";
import type { Tables } from "../db/tables.js";
import type { Checkpoint, EventStore } from "../eventstore/port.js";

export interface Lag {
  /** Events of the projection's streams in the log after its checkpoint. */
  events: number;
  /** How long the oldest of them has been waiting; 0 when there are none. */
  seconds: number;
}

/** How far a reader at `checkpoint` (null: the start) is behind the log, for streams starting with `prefix`. */
export type LagCounter = (checkpoint: string | null, prefix: string) => Promise<Lag>;

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

/**
 * The same for a log outside the database (EventStoreDB): counted by reading what lies after
 * the checkpoint through the store, a page at a time — as long as that lag is.
 */
export function lagThroughStore(store: Pick<EventStore, "readAll">, pageSize = 5_000): LagCounter {
  return async (checkpoint, prefix) => {
    let events = 0;
    let oldest = Number.POSITIVE_INFINITY;
    let after = (checkpoint ?? undefined) as Checkpoint | undefined;
    for (;;) {
      const page = await store.readAll({ after, limit: pageSize, streamPrefix: prefix });
      if (page.events.length === 0) break;
      events += page.events.length;
      for (const event of page.events) oldest = Math.min(oldest, event.recordedAt.getTime());
      after = page.checkpoint;
    }
    return { events, seconds: events === 0 ? 0 : Math.max(0, (Date.now() - oldest) / 1000) };
  };
}
