import { LRUCache } from "lru-cache";
import type { BasketCommand } from "../../aggregates/basket/index.js";
import type { CommandEnvelope, CommandOutcome } from "../command.js";

/**
 * Where a command sent with `Prefer: respond-async` is: accepted (queued), processing (a worker
 * took it), succeeded or failed. Only ever moves forward: once finished, a record stays finished.
 */
export type CommandState = "accepted" | "processing" | "succeeded" | "failed";

export interface CommandStatus {
  commandId: string;
  /** Whose command it is: the basket's credentials guard its status too. */
  basketId: string;
  type: BasketCommand["type"];
  state: CommandState;
  acceptedAt: Date;
  updatedAt: Date;
  /** Times a worker took it (more than one: redelivered after a failure or a worker's death). */
  deliveries: number;
  /** When finished: the outcome a synchronous answer would have carried (without its events). */
  outcome?: CommandOutcome;
  /** It kept failing and was moved to the dead letters. */
  deadLettered?: boolean;
}

/**
 * The status records, with a time to live: a record expires that long after its last change.
 * In JetStream KV with NATS (kv-command-status.ts), in memory without.
 */
export interface CommandStatusStore {
  get(commandId: string): Promise<CommandStatus | undefined>;
  /** Records a command as accepted unless a record exists; answers the record that stands. */
  accept(status: CommandStatus): Promise<CommandStatus>;
  /**
   * A worker took the command: processing, unless it finished already (records never go back).
   * Answers the record as it now stands, for `finish`.
   */
  start(envelope: CommandEnvelope, delivery: number): Promise<CommandStatus | undefined>;
  /** The final record: the outcome, or (dead-lettered) why it was given up; `before` saves a read. */
  finish(
    envelope: CommandEnvelope,
    delivery: number,
    outcome: CommandOutcome,
    deadLettered?: boolean,
    before?: CommandStatus,
  ): Promise<void>;
}

export const isFinished = (status: CommandStatus | undefined) =>
  status?.state === "succeeded" || status?.state === "failed";

export function acceptedStatus(envelope: CommandEnvelope, now = new Date()): CommandStatus {
  return {
    commandId: envelope.commandId,
    basketId: envelope.basketId,
    type: envelope.command.type,
    state: "accepted",
    acceptedAt: now,
    updatedAt: now,
    deliveries: 0,
  };
}

/** The record of a command taken by a worker, from what was known of it before (if anything). */
export function processingStatus(
  envelope: CommandEnvelope,
  before: CommandStatus | undefined,
  delivery: number,
): CommandStatus {
  const now = new Date();
  return {
    ...(before ?? acceptedStatus(envelope, now)),
    state: "processing",
    deliveries: delivery,
    updatedAt: now,
  };
}

/** The record of a finished command. The events are left out: the basket after it is what clients use. */
export function finishedStatus(
  envelope: CommandEnvelope,
  before: CommandStatus | undefined,
  delivery: number,
  outcome: CommandOutcome,
  deadLettered = false,
): CommandStatus {
  const now = new Date();
  return {
    ...(before ?? acceptedStatus(envelope, now)),
    state: outcome.ok ? "succeeded" : "failed",
    deliveries: delivery,
    updatedAt: now,
    outcome: outcome.ok ? { ...outcome, events: [] } : outcome,
    ...(deadLettered ? { deadLettered } : {}),
  };
}

/** For a single process (no NATS): records live in memory, as long as the TTL or the process. */
export class InMemoryCommandStatusStore implements CommandStatusStore {
  readonly #records: LRUCache<string, CommandStatus>;

  constructor(ttlMs: number, max = 100_000) {
    this.#records = new LRUCache({ max, ttl: ttlMs });
  }

  async get(commandId: string): Promise<CommandStatus | undefined> {
    return this.#records.get(commandId);
  }

  async accept(status: CommandStatus): Promise<CommandStatus> {
    const existing = this.#records.get(status.commandId);
    if (existing) return existing;
    this.#records.set(status.commandId, status);
    return status;
  }

  async start(envelope: CommandEnvelope, delivery: number): Promise<CommandStatus | undefined> {
    const before = this.#records.get(envelope.commandId);
    if (isFinished(before)) return before;
    const processing = processingStatus(envelope, before, delivery);
    this.#records.set(envelope.commandId, processing);
    return processing;
  }

  async finish(
    envelope: CommandEnvelope,
    delivery: number,
    outcome: CommandOutcome,
    deadLettered = false,
    before = this.#records.get(envelope.commandId),
  ): Promise<void> {
    this.#records.set(envelope.commandId, finishedStatus(envelope, before, delivery, outcome, deadLettered));
  }
}
