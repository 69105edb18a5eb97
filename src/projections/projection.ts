import type { Transaction } from "kysely";
import type { Tables } from "../db/tables.js";
import type { RecordedEvent } from "../eventstore/port.js";
import type { ReadModelTables } from "./tables.js";

/** A table of the read model that a projection writes (the checkpoints belong to the runner). */
export type ReadModelTable = Exclude<keyof ReadModelTables, "projection_checkpoints">;

/**
 * A read model kept from the global log. The runner hands it batches of events in log order,
 * inside the transaction that also moves its checkpoint.
 */
export interface Projection {
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
  /** Idempotent: applying an event that was already applied changes nothing. */
  apply(trx: Transaction<Tables>, events: RecordedEvent[]): Promise<void>;
}
