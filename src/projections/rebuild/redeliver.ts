import { type Kysely, sql } from "kysely";
import { appendedChannel } from "../../db/channels.js";
import type { Tables } from "../../db/tables.js";
import { CheckpointNotInLog } from "../../eventstore/errors.js";
import type { Checkpoint } from "../../eventstore/port.js";
import { type LagCounter, lagBehind, logPosition } from "../log-lag.js";
import type { ProjectionInfo } from "../projection.js";

/**
 * What rebuilding an outbound projection (the event relay) means: delivering again from an
 * earlier point of the log — the start, by default. There are no tables to rebuild; the
 * checkpoint moves back, and the live runner, whose next batch finds it moved, delivers from
 * there. The target drops what it has already (JetStream within its duplicate window, consumers
 * by event id).
 */
export interface RedeliveryPlan {
  projection: string;
  version: { deployed: number; stored: number | null };
  /** Where it is now (null: it never delivered anything). */
  checkpoint: string | null;
  /** Delivering again after this checkpoint; null is the start of the log. */
  from: string | null;
  /** Events of its streams it delivers again, as the log is now. */
  eventsToDeliver: number;
}

/** Reads only: this is also `--dry-run`. Refuses a `from` past the projection's checkpoint, which would skip events. */
export async function planRedelivery(
  db: Kysely<Tables>,
  projection: ProjectionInfo,
  from: Checkpoint | undefined,
  lag: LagCounter = (checkpoint, prefix) => lagBehind(db, checkpoint, prefix),
): Promise<RedeliveryPlan> {
  const row = await db
    .selectFrom("projection_checkpoints")
    .selectAll()
    .where("name", "=", projection.name)
    .executeTakeFirst();
  const checkpoint = row?.checkpoint ?? null;
  if (from !== undefined && isAfter(from, checkpoint)) {
    throw new Error(
      `--from ${from} is past ${projection.name}'s checkpoint (${checkpoint ?? "the start of the log"}): ` +
        "moving it forward would skip events, never deliver them.",
    );
  }
  const again = await lag(from ?? null, projection.streamPrefix);
  // A checkpoint the log no longer holds (an EventStoreDB that lost its log) is ahead of nothing.
  const ahead = await lag(checkpoint, projection.streamPrefix).catch((error: unknown) => {
    if (error instanceof CheckpointNotInLog) return { events: 0, seconds: 0 };
    throw error;
  });
  return {
    projection: projection.name,
    version: { deployed: projection.version, stored: row?.version ?? null },
    checkpoint,
    from: from ?? null,
    eventsToDeliver: again.events - ahead.events,
  };
}

/** Moves the checkpoint back to `from` (and the stored version to the deployed one). */
export async function redeliver(
  db: Kysely<Tables>,
  projection: ProjectionInfo,
  from: Checkpoint | undefined,
  owner: string,
  lag?: LagCounter,
): Promise<RedeliveryPlan> {
  const plan = await planRedelivery(db, projection, from, lag);
  const reset = {
    version: projection.version,
    checkpoint: from ?? null,
    position: null,
    events_applied: 0,
    owner,
  };
  await db
    .insertInto("projection_checkpoints")
    .values({ name: projection.name, ...reset })
    .onConflict((conflict) => conflict.column("name").doUpdateSet({ ...reset, updated_at: sql`now()` }))
    .execute();
  // Wakes the runners, which then find their checkpoint moved, rather than at their next poll.
  await sql`select pg_notify(${appendedChannel}, '')`.execute(db);
  return plan;
}

/**
 * Log order of two PostgreSQL checkpoints (null: the start). Another store's checkpoints
 * (EventStoreDB's) are not compared here: the plan's count of events still tells the operator.
 */
function isAfter(a: string, b: string | null): boolean {
  const pg = /^\d{1,20}:\d{1,20}$/;
  if (!pg.test(a) || (b !== null && !pg.test(b))) return false;
  const [x, y] = [logPosition(a), logPosition(b)];
  const [xTransaction, yTransaction] = [BigInt(x.transactionId), BigInt(y.transactionId)];
  return (
    xTransaction > yTransaction || (xTransaction === yTransaction && BigInt(x.position) > BigInt(y.position))
  );
}
