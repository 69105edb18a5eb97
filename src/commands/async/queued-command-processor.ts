import type { Logger } from "pino";
import type { Metrics } from "../../metrics/metrics.js";
import { type CommandEnvelope, type CommandHandler, type CommandOutcome, failure } from "../command.js";
import { observeCommand } from "../observe-command.js";
import type { CommandStatusStore } from "./command-status.js";

export interface QueuedCommandOptions {
  /** Deliveries of a command that keeps failing for a passing reason before it is given up. */
  maxDeliveries: number;
  /** The wait before trying again after a passing failure: doubles with each delivery, at most 30 s. */
  retryDelayMs: number;
}

/** What the queue is to do with a delivery. */
export type Verdict =
  /** Acknowledge: the command is finished (succeeded, or refused for good). */
  | { kind: "done" }
  /** Negatively acknowledge: deliver it again after the delay, perhaps to another worker. */
  | { kind: "retry"; delayMs: number }
  /** Move it to the dead letters, then acknowledge. */
  | { kind: "dead"; reason: string };

/**
 * One delivery of a queued command, whatever the queue (JetStream or in-process): the same
 * command handler as request-reply, so a redelivered command is recognised by its commandId in
 * the basket's events and never applied twice; the status record follows it.
 *
 * A refusal (a rule, a missing basket, a revision mismatch) is an outcome like a success: done.
 * A passing failure (the store unreachable, the worker overloaded, a basket that kept changing)
 * is tried again, with growing waits, up to `maxDeliveries`; then it goes to the dead letters. So
 * does a delivery beyond `maxDeliveries`: the workers that took it before died holding it.
 */
export class QueuedCommandProcessor {
  constructor(
    private readonly handler: CommandHandler,
    private readonly statuses: CommandStatusStore,
    private readonly options: QueuedCommandOptions,
    private readonly log: Logger,
    private readonly metrics?: Metrics,
  ) {}

  /** A delivery whose bytes are no command (`why` says what is wrong): straight to the dead letters. */
  unreadable(why: string, delivery: number): Promise<Verdict> {
    return this.dead(undefined, delivery, why);
  }

  async process(envelope: CommandEnvelope, delivery: number): Promise<Verdict> {
    const { commandId, basketId } = envelope;
    const log = this.log.child({ commandId, basketId, delivery });
    log.debug({ type: envelope.command.type }, "queued command received");
    const { maxDeliveries } = this.options;
    if (delivery > maxDeliveries) {
      return this.dead(envelope, delivery, `taken ${delivery - 1} times without an answer`);
    }
    const started = await this.statuses.start(envelope, delivery).catch((error) => {
      log.warn({ err: error }, "could not mark a queued command processing");
      return undefined;
    });

    const startedAt = performance.now();
    const outcome = await this.handler.handle(envelope);
    observeCommand(this.metrics, envelope.command.type, outcome, performance.now() - startedAt);
    if (!outcome.ok && isPassing(outcome)) {
      if (delivery >= maxDeliveries) {
        return this.dead(envelope, delivery, `${outcome.code}: ${outcome.message}`);
      }
      const delayMs = Math.min(this.options.retryDelayMs * 2 ** (delivery - 1), 30_000);
      log.warn({ code: outcome.code, delayMs }, "queued command failed for now; it will be tried again");
      this.metrics?.queuedCommands.inc({ outcome: "retried" });
      return { kind: "retry", delayMs };
    }
    if (outcome.ok) log.debug({ revision: `${outcome.revision}` }, "queued command applied");
    else log.info({ code: outcome.code }, "queued command refused");
    // Should this fail, the queue delivers the command again, and the handler knows it by its id.
    await this.statuses.finish(envelope, delivery, outcome, false, started);
    this.metrics?.queuedCommands.inc({ outcome: outcome.ok ? "succeeded" : "failed" });
    return { kind: "done" };
  }

  private async dead(envelope: CommandEnvelope | undefined, delivery: number, why: string): Promise<Verdict> {
    const reason = `Gave up after ${delivery} deliveries: ${why}`;
    this.log.error(
      { commandId: envelope?.commandId, basketId: envelope?.basketId, delivery, reason },
      "queued command moved to the dead letters",
    );
    if (envelope) {
      const gaveUp: CommandOutcome = failure({ kind: "unavailable", code: "gave_up", message: reason });
      await this.statuses.finish(envelope, delivery, gaveUp, true);
    }
    this.metrics?.queuedCommands.inc({ outcome: "dead_lettered" });
    return { kind: "dead", reason };
  }
}

/** Failures that may not happen on another try (an unknown outcome is found out by trying again). */
const isPassing = (outcome: Exclude<CommandOutcome, { ok: true }>) =>
  outcome.kind === "unavailable" || outcome.kind === "timeout" || outcome.code === "write_conflict";
