import type { Metrics } from "../metrics/metrics.js";
import { observeCommand } from "../metrics/observe-command.js";
import type { BasketCommandHandler } from "./basket-command-handler.js";
import { type CommandEnvelope, type CommandOutcome, failure } from "./command.js";

/** How the API hands a command to whichever worker handles its basket. */
export interface CommandBus {
  send(envelope: CommandEnvelope): Promise<CommandOutcome>;
}

/** No NATS: the handler runs in this process (the embedded default). */
export class InProcessCommandBus implements CommandBus {
  constructor(
    private readonly handler: BasketCommandHandler,
    private readonly metrics?: Metrics,
  ) {}

  async send(envelope: CommandEnvelope): Promise<CommandOutcome> {
    const started = performance.now();
    let outcome: CommandOutcome;
    try {
      outcome = await this.handler.handle(envelope);
    } catch (error) {
      outcome = failure({ kind: "unavailable", code: "store_unavailable", message: storeUnavailable(error) });
    }
    observeCommand(this.metrics, envelope.command.type, outcome, performance.now() - started);
    return outcome;
  }
}

export const storeUnavailable = (error: unknown) =>
  `The event store could not be reached: ${error instanceof Error ? error.message : String(error)}`;
