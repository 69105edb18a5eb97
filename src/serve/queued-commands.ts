import type { NatsConnection } from "nats";
import type { Logger } from "pino";
import type { CommandStatusStore } from "../commands/async/command-status.js";
import { QueuedCommandProcessor } from "../commands/async/queued-command-processor.js";
import type { CommandHandler } from "../commands/command.js";
import type { AsyncCommandsConfig, CommandsConfig, NatsConfig } from "../config/config.js";
import type { Metrics } from "../metrics/metrics.js";
import { commandStatusBucket } from "../nats/names.js";
import { KvCommandStatusStore } from "../nats/queue/kv-command-status.js";

/** The status records of queued commands, shared by every API and worker of the deployment. */
export const kvStatuses = (nc: NatsConnection, nats: NatsConfig, commands: CommandsConfig) =>
  KvCommandStatusStore.open(nc, commandStatusBucket(nats.prefix), {
    ttlMs: commands.async.statusTtlMs,
    replicas: nats.replicas,
    timeoutMs: commands.timeoutMs,
  });

/** One delivery of a queued command → the handler, with retries and dead letters as configured. */
export const queuedCommandProcessor = (
  handler: CommandHandler,
  statuses: CommandStatusStore,
  config: AsyncCommandsConfig,
  log: Logger,
  metrics: Metrics,
) =>
  new QueuedCommandProcessor(
    handler,
    statuses,
    { maxDeliveries: config.maxDeliveries, retryDelayMs: config.retryDelayMs },
    log,
    metrics,
  );
