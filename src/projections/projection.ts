import type { Transaction } from "kysely";
import type { Tables } from "../db/tables.js";
import type { RecordedEvent } from "../eventstore/port.js";

/**
 * A read model kept from the global log. The runner hands it batches of events in log order,
 * inside the transaction that also moves its checkpoint.
 */
export interface Projection {
  readonly name: string;
  /** Bump it when what the projection writes changes: the read model must then be rebuilt. */
  readonly version: number;
  readonly streamPrefix: string;
  /** Idempotent: applying an event that was already applied changes nothing. */
  apply(trx: Transaction<Tables>, events: RecordedEvent[]): Promise<void>;
}
