import type { BasketCommand, BasketErrorCode, BasketView } from "../aggregates/basket/index.js";
import type { RecordedEvent } from "../eventstore/port.js";

/** A basket command on its way to a worker, with what makes it traceable and retryable. */
export interface CommandEnvelope {
  /** The same id on a retry: a command is applied at most once per basket. */
  commandId: string;
  basketId: string;
  command: BasketCommand;
  /** When set (HTTP If-Match), the command applies only at exactly this basket revision. */
  expectedRevision?: bigint | undefined;
  correlationId?: string | undefined;
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

export type CommandFailure = { ok: false; message: string } & (
  | { kind: "invalid"; code: "invalid_command" }
  | { kind: "rejected"; code: Exclude<BasketErrorCode, "basket_not_found"> }
  | { kind: "not_found"; code: "basket_not_found" }
  | { kind: "conflict"; code: "revision_mismatch"; expected: bigint; actual: bigint | null }
  | { kind: "conflict"; code: "write_conflict" }
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

/** HTTP-like status of each kind of failure: for REST answers and NATS service error headers alike. */
export const statusOfFailure: Record<FailureKind, number> = {
  invalid: 400,
  not_found: 404,
  rejected: 409,
  conflict: 409,
  gone: 410,
  unavailable: 503,
  timeout: 504,
};
