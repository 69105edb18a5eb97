import type { NatsConnection, ServiceMsg } from "nats";
import type { Logger } from "pino";
import type { BasketCommandHandler } from "../basket-command-handler.js";
import { type CommandEnvelope, type CommandOutcome, type FailureKind, failure } from "../command.js";
import { storeUnavailable } from "../command-bus.js";
import { decodeCommand, encodeOutcome } from "../wire.js";
import { commandWildcard, workerQueue } from "./subjects.js";

export interface NatsWorker {
  /** Stops taking commands, answers every command already taken, then returns. */
  stop(): Promise<void>;
}

/** HTTP-like status codes in the services framework's error headers, by failure kind. */
const statusOf: Record<FailureKind, number> = {
  invalid: 400,
  not_found: 404,
  rejected: 409,
  conflict: 409,
  unavailable: 503,
  timeout: 504,
};

/**
 * Serves basket commands with the NATS services framework, in a queue group: every worker
 * process shares the load, and each is visible to `$SRV.PING|INFO|STATS.baskets`.
 */
export async function startNatsWorker(
  nc: NatsConnection,
  handler: BasketCommandHandler,
  options: { subjectPrefix: string; version: string; log: Logger },
): Promise<NatsWorker> {
  const inFlight = new Set<Promise<void>>();
  const counts = { succeeded: 0, failed: {} as Record<string, number>, processingMs: 0 };
  const service = await nc.services.add({
    name: options.subjectPrefix,
    version: options.version,
    description: "Basket commands",
    queue: workerQueue(options.subjectPrefix),
    // The framework times only a handler's synchronous part; ours is async, so we count ourselves.
    statsHandler: async () => ({
      ...counts,
      averageProcessingMs: counts.processingMs / Math.max(1, counts.succeeded + sum(counts.failed)),
      pending: handler.pending,
      ...handler.stats,
    }),
  });

  const serve = async (msg: ServiceMsg) => {
    const started = performance.now();
    const envelope = decodeCommand(msg.data);
    let outcome: CommandOutcome;
    if (typeof envelope === "string") {
      outcome = failure({ kind: "invalid", code: "invalid_command", message: envelope });
    } else {
      try {
        outcome = await handler.handle(envelope);
      } catch (error) {
        outcome = failure({
          kind: "unavailable",
          code: "store_unavailable",
          message: storeUnavailable(error),
        });
      }
      logOutcome(options.log, envelope, outcome);
    }
    counts.processingMs += performance.now() - started;
    if (outcome.ok) {
      counts.succeeded++;
      msg.respond(encodeOutcome(outcome));
    } else {
      counts.failed[outcome.code] = (counts.failed[outcome.code] ?? 0) + 1;
      msg.respondError(statusOf[outcome.kind], outcome.message, encodeOutcome(outcome));
    }
  };

  service.addEndpoint("commands", {
    subject: commandWildcard(options.subjectPrefix),
    handler: (error, msg) => {
      if (error) return;
      const task = serve(msg).catch((e: unknown) =>
        options.log.error({ err: e }, "could not answer a command"),
      );
      inFlight.add(task);
      task.finally(() => inFlight.delete(task));
    },
  });

  // Only once the server knows the subscription may the worker call itself ready.
  await nc.flush();

  return {
    async stop() {
      await service.stop();
      await Promise.all(inFlight);
    },
  };
}

function logOutcome(log: Logger, envelope: CommandEnvelope, outcome: CommandOutcome): void {
  if (!log.isLevelEnabled(outcome.ok ? "debug" : "info")) return;
  const { commandId, basketId, command } = envelope;
  if (outcome.ok)
    log.debug(
      { commandId, basketId, type: command.type, revision: `${outcome.revision}` },
      "command applied",
    );
  else log.info({ commandId, basketId, type: command.type, code: outcome.code }, "command refused");
}

const sum = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);
