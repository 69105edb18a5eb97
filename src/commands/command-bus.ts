import type { BasketCommandHandler } from "./basket-command-handler.js";
import { type CommandEnvelope, type CommandOutcome, failure } from "./command.js";

/** How the API hands a command to whichever worker handles its basket. */
export interface CommandBus {
  send(envelope: CommandEnvelope): Promise<CommandOutcome>;
}

/** No NATS: the handler runs in this process (the embedded default). */
export class InProcessCommandBus implements CommandBus {
  constructor(private readonly handler: BasketCommandHandler) {}

  async send(envelope: CommandEnvelope): Promise<CommandOutcome> {
    try {
      return await this.handler.handle(envelope);
    } catch (error) {
      return failure({ kind: "unavailable", code: "store_unavailable", message: storeUnavailable(error) });
    }
  }
}

export const storeUnavailable = (error: unknown) =>
  `The event store could not be reached: ${error instanceof Error ? error.message : String(error)}`;
