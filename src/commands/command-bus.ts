import type { Metrics } from "../metrics/metrics.js";
import { currentTraceContext, inSpan } from "../telemetry/spans.js";
import type { CommandEnvelope, CommandHandler, CommandOutcome } from "./command.js";
import { observeCommand } from "./observe-command.js";

/** How the API hands a command to whichever worker handles its basket. */
export interface CommandBus {
  send(envelope: CommandEnvelope): Promise<CommandOutcome>;
}

/** No NATS: the handler runs in this process (the embedded default). */
export class InProcessCommandBus implements CommandBus {
  constructor(
    private readonly handler: CommandHandler,
    private readonly metrics?: Metrics,
  ) {}

  async send(envelope: CommandEnvelope): Promise<CommandOutcome> {
    const started = performance.now();
    const type = envelope.command.type;
    const outcome = await inSpan(
      "basket.command process",
      { attributes: { "basket.command.type": type } },
      (span) =>
        this.handler.handle({ ...envelope, trace: currentTraceContext() }).then((handled) => {
          span.setAttribute("basket.command.outcome", handled.ok ? "ok" : handled.code);
          return handled;
        }),
    );
    observeCommand(this.metrics, type, outcome, performance.now() - started);
    return outcome;
  }
}
