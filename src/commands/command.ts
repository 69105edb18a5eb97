import type {
  BasketCommand,
  BasketErrorCode,
  BasketView,
  LineRemovedReason,
} from "../aggregates/basket/index.js";
import type { RecordedEvent } from "../eventstore/port.js";

/** A basket command on its way to a worker, with what makes it traceable and retryable. */
export interface CommandEnvelope {
  /** The server's id of the command (UUIDv7): for logs, statuses and events' metadata. */
  commandId: string;
  /**
   * The client's Idempotency-Key, as a keyed hash (never the key itself), and the fingerprint of
   * the request it came with. A command with the same key is applied at most once per basket; the
   * same key with another fingerprint is refused (`idempotency_key_reused`). Without one, the
   * commandId is the key (a retry inside the service, e.g. a redelivered queued command).
   */
  idempotency?: { key: string; fingerprint: string } | undefined;
  basketId: string;
  command: BasketCommand;
  /** When set (HTTP If-Match), the command applies only at exactly this basket revision. */
  expectedRevision?: bigint | undefined;
  correlationId?: string | undefined;
  /**
   * The W3C trace context of the span handling it (`traceparent`, `tracestate`): recorded in its
   * events' metadata, so what the events cause later (projections, the relay, live pages) links
   * back to the command's trace. Set where the command is handled; never on the wire.
   */
  trace?: Record<string, string> | undefined;
}

export type CommandOutcome = CommandSuccess | CommandFailure;

export interface CommandSuccess {
  ok: true;
  /** The basket's revision after the command. */
  revision: bigint;
  /** Global position of the last event written; null when the command changed nothing. */
  position: bigint | null;
  events: RecordedEvent[];
  basket: BasketView;
  /** True when this commandId had already been applied: nothing new was written. */
  duplicate: boolean;
}

export type FailureKind = CommandFailure["kind"];

/** A line the catalog no longer sells as the basket had it, found at checkout. */
export interface PriceChange {
  sku: string;
  /** The line's unit price before. */
  was: number;
  /** Its unit price now; null when the line was removed. */
  now: number | null;
  reason: "repriced" | LineRemovedReason;
}

export type CommandFailure = { ok: false; message: string } & (
  | { kind: "invalid"; code: "invalid_command" }
  | { kind: "rejected"; code: Exclude<BasketErrorCode, "basket_not_found" | "prices_changed"> }
  /**
   * The checkout found the catalog changed: the new prices were recorded (the basket after them
   * is `basket`, at `revision`) and the checkout refused, so the shopper sees them before paying.
   */
  | { kind: "rejected"; code: "prices_changed"; changes: PriceChange[]; basket: BasketView; revision: bigint }
  | { kind: "not_found"; code: "basket_not_found" }
  | { kind: "conflict"; code: "revision_mismatch"; expected: bigint; actual: bigint | null }
  | { kind: "conflict"; code: "write_conflict" }
  /** The Idempotency-Key was used before for another request (another route, basket or body). */
  | { kind: "conflict"; code: "idempotency_key_reused" }
  | { kind: "unavailable"; code: "overloaded" | "no_workers" | "store_unavailable" }
  /** A queued command that kept failing for a passing reason: moved to the dead letters. */
  | { kind: "unavailable"; code: "gave_up" }
  /** The basket's stream was deleted for good (in EventStoreDB): nothing more can happen to it. */
  | { kind: "gone"; code: "basket_deleted" }
  /** `outcome_unknown`: the store did not confirm the write in time; the same command id again is safe. */
  | { kind: "timeout"; code: "timeout" | "outcome_unknown" }
);

export const failure = <F extends Omit<CommandFailure, "ok">>(fields: F) => ({
  ok: false as const,
  ...fields,
});

/**
 * The HTTP status of each failure code: the REST answer, and the `Nats-Service-Error-Code` header
 * a worker answers a failed command with, so that any NATS client reads the same.
 */
export const statusOfFailure: Record<CommandFailure["code"], number> = {
  invalid_command: 400,
  basket_not_found: 404,
  basket_already_exists: 409,
  basket_checked_out: 409,
  basket_empty: 409,
  item_not_in_basket: 409,
  too_many_lines: 409,
  quantity_out_of_range: 409,
  invalid_sku: 409,
  invalid_currency: 409,
  invalid_visitor_id: 409,
  unknown_product: 422,
  product_delisted: 422,
  no_price_in_currency: 422,
  prices_changed: 409,
  revision_mismatch: 412,
  write_conflict: 409,
  idempotency_key_reused: 422,
  overloaded: 503,
  no_workers: 503,
  store_unavailable: 503,
  gave_up: 503,
  basket_deleted: 410,
  outcome_unknown: 504,
  timeout: 504,
};

/** Handles basket commands. Never throws: whatever goes wrong is a CommandFailure. */
export interface CommandHandler {
  handle(envelope: CommandEnvelope): Promise<CommandOutcome>;
}

/** The store could not be reached, or failed: a passing failure, worth a retry with the same commandId. */
export const storeUnavailable = (error: unknown) =>
  failure({
    kind: "unavailable",
    code: "store_unavailable",
    message: `The event store could not be reached: ${error instanceof Error ? error.message : String(error)}`,
  });
