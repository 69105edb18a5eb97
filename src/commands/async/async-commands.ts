import type { CommandEnvelope } from "../command.js";
import { acceptedStatus, type CommandStatus, type CommandStatusStore } from "./command-status.js";

/** Where accepted commands wait for a worker: a JetStream work queue, or in-process without NATS. */
export interface CommandQueue {
  /** Resolves once the command is safely queued; throws when it could not be. */
  enqueue(envelope: CommandEnvelope): Promise<void>;
}

/**
 * Commands sent with `Prefer: respond-async`: queued now, handled by a worker later, followed
 * through their status record, under the command id the server made (a retry with the same
 * Idempotency-Key is given the same id by the key's claim).
 */
export class AsyncCommands {
  constructor(
    private readonly queue: CommandQueue,
    readonly statuses: CommandStatusStore,
  ) {}

  /** The command's status record: accepted now, or — a retry — as it stands. */
  async submit(envelope: CommandEnvelope): Promise<CommandStatus> {
    const known = await this.statuses.get(envelope.commandId);
    // A retry of a command already accepted: the same answer, nothing queued again.
    if (known) return known;
    // Queued first, recorded second: a record never promises a command that was not queued, and
    // `accept` leaves alone a record that a quick worker has moved on already.
    await this.queue.enqueue(envelope);
    return this.statuses.accept(acceptedStatus(envelope));
  }
}
