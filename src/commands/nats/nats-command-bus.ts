import { ErrorCode, type NatsConnection, NatsError } from "nats";
import { type CommandEnvelope, type CommandOutcome, failure } from "../command.js";
import type { CommandBus } from "../command-bus.js";
import { partitionOf } from "../routing/partitions.js";
import { decodeOutcome, encodeCommand } from "../wire.js";
import { commandSubject, fallbackSubject } from "./subjects.js";

export interface NatsCommandBusOptions {
  subjectPrefix: string;
  partitions: number;
  timeoutMs: number;
  /** Waits between tries while a partition has no subscriber, before the fallback queue group. */
  handOffRetriesMs?: readonly number[];
}

/**
 * Sends a command to its basket's partition by NATS request-reply. While a partition changes
 * hands it may have no subscriber for a moment: "no responders" means the command surely did
 * not run, so it is tried again briefly and then sent to the fallback group every worker serves.
 */
export class NatsCommandBus implements CommandBus {
  constructor(
    private readonly nc: NatsConnection,
    private readonly options: NatsCommandBusOptions,
  ) {}

  async send(envelope: CommandEnvelope): Promise<CommandOutcome> {
    const { subjectPrefix, partitions, handOffRetriesMs = [10, 25, 50, 100, 200] } = this.options;
    const payload = encodeCommand(envelope);
    const partitionSubject = commandSubject(
      subjectPrefix,
      partitionOf(envelope.basketId, partitions),
      envelope.basketId,
    );
    for (const waitMs of [...handOffRetriesMs, undefined]) {
      const outcome = await this.request(partitionSubject, payload);
      if (outcome !== "no responders") return outcome;
      if (waitMs === undefined) break;
      await new Promise((resolve) => setTimeout(resolve, waitMs));
    }
    const outcome = await this.request(fallbackSubject(subjectPrefix, envelope.basketId), payload);
    if (outcome !== "no responders") return outcome;
    return failure({
      kind: "unavailable",
      code: "no_workers",
      message: "No worker is serving basket commands.",
    });
  }

  private async request(subject: string, payload: Uint8Array): Promise<CommandOutcome | "no responders"> {
    try {
      const reply = await this.nc.request(subject, payload, { timeout: this.options.timeoutMs });
      return decodeOutcome(reply.data);
    } catch (error) {
      if (!(error instanceof NatsError)) throw error;
      if (error.code === ErrorCode.NoResponders) return "no responders";
      // A timeout: maybe run — the caller retries with the same commandId.
      if (error.code === ErrorCode.Timeout) {
        return failure({
          kind: "timeout",
          code: "timeout",
          message: "No answer in time; the outcome is unknown.",
        });
      }
      return failure({ kind: "unavailable", code: "no_workers", message: `NATS: ${error.message}` });
    }
  }
}
