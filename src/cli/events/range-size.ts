import { sql } from "kysely";
import type { Database } from "../../db/database.js";
import type { Checkpoint, EventStore } from "../../eventstore/port.js";
import { type LogRange, untilNotFound } from "./read-range.js";

export interface RangeSize {
  /**
   * Events committed in the range now, including any that an older open transaction still holds
   * back from readers (readRange waits for those). A total for progress, not a promise: without
   * `until` the log may grow.
   */
  total: number;
  /** Whether `until`, when given, is the checkpoint of an event in the range. */
  untilFound: boolean;
}

/**
 * Counts a range of the log in the database instead of reading it, so progress can show a total
 * and a wrong `--until` is refused before anything is exported or published.
 *
 * This is the one place that looks behind the port: it knows the PostgreSQL adapter's checkpoint,
 * `<transaction id>:<global position>`, and its log order, that pair's. For a checkpoint of any
 * other shape it answers undefined and the caller goes on without a total.
 */
export async function rangeSize(database: Database, range: LogRange): Promise<RangeSize | undefined> {
  const from = range.from ? parse(range.from) : (["0", "0"] as const);
  const until = range.until ? parse(range.until) : undefined;
  if (!from || (range.until && !until)) return undefined;
  const prefix = range.streamPrefix ? sql`and starts_with(stream_id, ${range.streamPrefix})` : sql``;
  const { rows } = await sql<{ total: string; until_found: boolean }>`
    select
      count(*) as total,
      ${until ? sql`bool_or(transaction_id = ${until[0]}::xid8 and global_position = ${until[1]}::bigint)` : sql`false`} as until_found
    from events
    where (transaction_id, global_position) > (${from[0]}::xid8, ${from[1]}::bigint)
      ${until ? sql`and (transaction_id, global_position) <= (${until[0]}::xid8, ${until[1]}::bigint)` : sql``}
      ${prefix}`.execute(database.db);
  const row = rows[0];
  return { total: Number(row?.total ?? 0), untilFound: row?.until_found === true };
}

function parse(checkpoint: Checkpoint): readonly [transactionId: string, position: string] | undefined {
  const match = /^(\d{1,20}):(\d{1,20})$/.exec(checkpoint);
  return match ? [match[1] as string, match[2] as string] : undefined;
}

/**
 * The same for a log outside the database (EventStoreDB): counted by reading the range through
 * the store, up to `until` — one more pass over the range before the work itself.
 */
export async function rangeSizeThroughStore(store: EventStore, range: LogRange): Promise<RangeSize> {
  let total = 0;
  let after = range.from;
  for (;;) {
    const page = await store.readAll({ after, limit: 5_000, streamPrefix: range.streamPrefix });
    if (page.events.length === 0) return { total, untilFound: false };
    for (const event of page.events) {
      total++;
      if (range.until && event.checkpoint === range.until) return { total, untilFound: true };
    }
    after = page.checkpoint;
  }
}

/**
 * Refuses a range whose checkpoints this store did not make, or whose `until` no event in it has,
 * before the caller writes or publishes anything; answers the range's size when it can tell.
 * `database` is the store's when its log is in one (undefined on EventStoreDB).
 */
export async function checkRange(
  store: EventStore,
  database: Database | undefined,
  range: LogRange,
): Promise<number | undefined> {
  // The store is the judge of its checkpoints: it throws InvalidCheckpoint for one it did not make.
  for (const checkpoint of [range.from, range.until]) {
    if (checkpoint) await store.readAll({ after: checkpoint, limit: 1 });
  }
  const size = database ? await rangeSize(database, range) : await rangeSizeThroughStore(store, range);
  if (range.until && size && !size.untilFound) throw untilNotFound(range);
  return size?.total;
}
