import type { NatsConnection } from "nats";
import type { BasketCommandHandler } from "../commands/basket-command-handler.js";
import type { NatsConfig } from "../config/config.js";
import { startNatsWorker } from "../nats/commands/nats-worker.js";
import { allCommandsWildcard } from "../nats/names.js";
import { startQueuedCommandConsumer } from "../nats/queue/queued-command-consumer.js";
import { version } from "../version.js";
import type { ProcessParts } from "./process-parts.js";
import { kvStatuses, queuedCommandProcessor } from "./queued-commands.js";

/** The worker: NATS request-reply (its partitions' queue groups) and the queued commands → the handler. */
export async function startWorker(
  parts: ProcessParts,
  { nc, config: nats }: { nc: NatsConnection; config: NatsConfig },
  handler: BasketCommandHandler,
): Promise<void> {
  const { config, log, metrics } = parts;
  const worker = await startNatsWorker(nc, handler, {
    subjectPrefix: nats.prefix,
    replicas: nats.replicas,
    version,
    log,
    routing: nats.routing,
    metrics,
  });
  parts.liveCounts.push(() => ({ partitionsOwned: worker.partitions.length, rebalances: worker.rebalances }));
  parts.probes.worker = async () => {
    const { serving, detail } = worker.status();
    if (!serving) throw new Error(detail);
    return detail;
  };
  parts.stops.push(() => worker.stop());
  log.info({ subjects: allCommandsWildcard(nats.prefix) }, "worker serving basket commands");

  const asyncConfig = config.commands.async;
  const statuses = await kvStatuses(nc, nats, config.commands);
  const consumer = await startQueuedCommandConsumer(
    nc,
    queuedCommandProcessor(handler, statuses, asyncConfig, log, metrics),
    {
      subjectPrefix: nats.prefix,
      replicas: nats.replicas,
      maxInFlight: asyncConfig.maxInFlight,
      ackWaitMs: asyncConfig.ackWaitMs,
      maxAckPending: asyncConfig.maxAckPending,
      log,
    },
  );
  parts.stops.push(() => consumer.stop());
}
