import type { NatsConnection } from "nats";
import type { Logger } from "pino";
import type { CommandStatusStore } from "../commands/async/command-status.js";
import { QueuedCommandProcessor } from "../commands/async/queued-command-processor.js";
import type { BasketCommandHandler } from "../commands/basket-command-handler.js";
import { KvCommandStatusStore } from "../commands/nats/kv-command-status.js";
import { startNatsWorker } from "../commands/nats/nats-worker.js";
import { startQueuedCommandConsumer } from "../commands/nats/queued-command-consumer.js";
import { commandStatusBucket } from "../commands/nats/subjects.js";
import type { Config } from "../config.js";
import type { Metrics } from "../metrics/metrics.js";
import { version } from "../version.js";
import type { ProcessParts } from "./process-parts.js";

/** The worker: NATS request-reply (its partitions' queue groups) and the queued commands → the handler. */
export async function startWorker(
  parts: ProcessParts,
  nc: NatsConnection,
  handler: BasketCommandHandler,
): Promise<void> {
  const { config, log, metrics } = parts;
  const worker = await startNatsWorker(nc, handler, {
    subjectPrefix: config.subjectPrefix,
    version,
    log,
    routing: config.routing,
    metrics,
  });
  parts.liveCounts.push(() => ({ partitionsOwned: worker.partitions.length, rebalances: worker.rebalances }));
  parts.probes.worker = async () => {
    const { serving, detail } = worker.status();
    if (!serving) throw new Error(detail);
    return detail;
  };
  parts.stops.push(() => worker.stop());
  log.info({ subjects: `${config.subjectPrefix}.cmd.*` }, "worker serving basket commands");

  const { maxInFlight, ackWaitMs, maxAckPending } = config.asyncCommands;
  const processor = queuedCommandProcessor(handler, await kvStatuses(nc, config), config, log, metrics);
  const consumer = await startQueuedCommandConsumer(nc, processor, {
    subjectPrefix: config.subjectPrefix,
    maxInFlight,
    ackWaitMs,
    maxAckPending,
    log,
  });
  parts.stops.push(() => consumer.stop());
}

export const kvStatuses = (nc: NatsConnection, config: Config) =>
  KvCommandStatusStore.open(nc, commandStatusBucket(config.subjectPrefix), config.asyncCommands.statusTtlMs);

export const queuedCommandProcessor = (
  handler: BasketCommandHandler,
  statuses: CommandStatusStore,
  config: Config,
  log: Logger,
  metrics: Metrics,
) =>
  new QueuedCommandProcessor(
    handler,
    statuses,
    {
      maxDeliveries: config.asyncCommands.maxDeliveries,
      retryDelayMs: config.asyncCommands.retryDelayMs,
    },
    log,
    metrics,
  );
