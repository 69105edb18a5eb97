import type { CommandEnvelope } from "../command.js";
import { acceptedStatus, type CommandStatus, type CommandStatusStore } from "./command-status.js";

/** Where accepted commands wait for a worker: a JetStream work queue, or in-process without NATS. */
export interface CommandQueue {
  /** Resolves once the command is safely queued; throws when it could not be. */
  enqueue(envelope: CommandEnvelope): Promise<void>;
}

export type Submitted =
  | { kind: "accepted"; status: CommandStatus }
  /** The commandId (Idempotency-Key) already names a command of another basket. */
  | { kind: "id in use"; status: CommandStatus };

/**
 * Commands sent with `Prefer: respond-async`: queued now, handled by a worker later, followed
 * through their status record. A commandId names one status record, so unlike request-reply
 * (where an id is unique per basket) it must not be reused for another basket.
 */
export class AsyncCommands {
  constructor(
    private readonly queue: CommandQueue,
    readonly statuses: CommandStatusStore,
  ) {}

  async submit(envelope: CommandEnvelope): Promise<Submitted> {
    const known = await this.statuses.get(envelope.commandId);
    if (known) {
      // A retry of a command already accepted: the same answer, nothing queued again.
      return known.basketId === envelope.basketId
        ? { kind: "accepted", status: known }
        : { kind: "id in use", status: known };
    }
    // Queued first, recorded second: a record never promises a command that was not queued, and
    // `accept` leaves alone a record that a quick worker has moved on already.
    await this.queue.enqueue(envelope);
    const status = await this.statuses.accept(acceptedStatus(envelope));
    return { kind: "accepted", status };
  }
}
