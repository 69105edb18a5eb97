import { ErrorCode, type NatsConnection, NatsError } from "nats";
import { type CommandEnvelope, type CommandOutcome, failure } from "../command.js";
import type { CommandBus } from "../command-bus.js";
import { decodeOutcome, encodeCommand } from "../wire.js";
import { commandSubject } from "./subjects.js";

/** Sends commands to the worker queue group by NATS request-reply. */
export class NatsCommandBus implements CommandBus {
  constructor(
    private readonly nc: NatsConnection,
    private readonly options: { subjectPrefix: string; timeoutMs: number },
  ) {}

  async send(envelope: CommandEnvelope): Promise<CommandOutcome> {
    try {
      const reply = await this.nc.request(
        commandSubject(this.options.subjectPrefix, envelope.basketId),
        encodeCommand(envelope),
        { timeout: this.options.timeoutMs },
      );
      return decodeOutcome(reply.data);
    } catch (error) {
      if (!(error instanceof NatsError)) throw error;
      // No responders: surely not run. A timeout: maybe run — the caller retries with the same commandId.
      if (error.code === ErrorCode.NoResponders) {
        return failure({
          kind: "unavailable",
          code: "no_workers",
          message: "No worker is serving basket commands.",
        });
      }
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
