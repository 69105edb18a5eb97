import { ErrorCode, type NatsConnection, NatsError } from "nats";
import { type CommandEnvelope, type CommandOutcome, failure } from "../../commands/command.js";
import type { CommandBus } from "../../commands/command-bus.js";
import { inSpan, SpanKind } from "../../telemetry/spans.js";
import { commandSubject, fallbackSubject } from "../names.js";
import { partitionOf } from "../routing/partitions.js";
import { traceHeaders } from "../trace-headers.js";
import { decodeOutcome, encodeCommand } from "../wire.js";

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

  send(envelope: CommandEnvelope): Promise<CommandOutcome> {
    // One client span for the command, however many tries it takes; the worker's continues it.
    return inSpan(
      "basket.command send",
      {
        kind: SpanKind.CLIENT,
        attributes: { "messaging.system": "nats", "basket.command.type": envelope.command.type },
      },
      async (span) => {
        const outcome = await this.sendNow(envelope);
        span.setAttribute("basket.command.outcome", outcome.ok ? "ok" : outcome.code);
        return outcome;
      },
    );
  }

  private async sendNow(envelope: CommandEnvelope): Promise<CommandOutcome> {
    const { subjectPrefix, partitions, handOffRetriesMs = [10, 25, 50, 100, 200] } = this.options;
    const payload = encodeCommand(envelope);
    const partitionSubject = commandSubject(
      subjectPrefix,
      partitionOf(envelope.basketId, partitions),
      envelope.basketId,
    );
    for (const waitMs of [...handOffRetriesMs, undefined]) {
      const outcome = await this.request(partitionSubject, payload);
      if (outcome) return outcome;
      if (waitMs === undefined) break;
      await new Promise((resolve) => setTimeout(resolve, waitMs));
    }
    const outcome = await this.request(fallbackSubject(subjectPrefix, envelope.basketId), payload);
    if (outcome) return outcome;
    return failure({
      kind: "unavailable",
      code: "no_workers",
      message: "No worker is serving basket commands.",
    });
  }

  /** The outcome; undefined when no worker subscribes to the subject (so the command surely did not run). */
  private async request(subject: string, payload: Uint8Array): Promise<CommandOutcome | undefined> {
    try {
      const headers = traceHeaders();
      const reply = await this.nc.request(subject, payload, {
        timeout: this.options.timeoutMs,
        ...(headers ? { headers } : {}),
      });
      return decodeOutcome(reply.data);
    } catch (error) {
      if (!(error instanceof NatsError)) throw error;
      if (error.code === ErrorCode.NoResponders) return undefined;
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
