import type { Transaction } from "kysely";
import type { ReadModelTables } from "../db/read-model-tables.js";
import type { Tables } from "../db/tables.js";
import type { RecordedEvent } from "../eventstore/port.js";

/** A table of the read model that a projection writes (the checkpoints belong to the runner). */
export type ReadModelTable = Exclude<keyof ReadModelTables, "projection_checkpoints">;

/** What every projection has, and all that status and listing need of one. */
export interface ProjectionInfo {
  /** Set on outbound projections, whose target is outside the database; read models have none. */
  readonly kind?: "outbound";
  readonly name: string;
  /** Bump it when what the projection writes changes: the read model must then be rebuilt. */
  readonly version: number;
  readonly streamPrefix: string;
  /**
   * The tables it writes and nothing else writes, in migrations/. A rebuild builds copies of
   * exactly these in a schema of its own and swaps them in (src/projections/rebuild).
   * Listed in the order `apply` first touches them: the switch-over locks them in this order,
   * so it never holds one the live runner waits for while waiting for one the runner holds.
   */
  readonly tables: readonly ReadModelTable[];
}

/**
 * A read model kept from the global log. The runner hands it batches of events in log order,
 * inside the transaction that also moves its checkpoint: exactly once.
 */
export interface Projection extends ProjectionInfo {
  /** Idempotent: applying an event that was already applied changes nothing. */
  apply(trx: Transaction<Tables>, events: RecordedEvent[]): Promise<void>;
}

/**
 * A projection whose target is outside the database, such as the event relay
 * (src/nats/events/event-relay.ts), which publishes to JetStream. The runner delivers a batch
 * before the transaction that moves the checkpoint, and that delivery cannot be part of it: a
 * crash, or a lost lock, between the two delivers the batch again. At least once, by design —
 * the target must drop what it already has (JetStream by `Nats-Msg-Id`, consumers by event id).
 * A rebuild is a re-delivery from an earlier checkpoint. It writes no tables.
 */
export interface OutboundProjection extends ProjectionInfo {
  readonly kind: "outbound";
  readonly tables: readonly [];
  /** Resolves once the target has taken every event of the batch, in order; throws otherwise. */
  deliver(events: RecordedEvent[]): Promise<void>;
}

export const isOutbound = (projection: ProjectionInfo): projection is OutboundProjection =>
  projection.kind === "outbound";
