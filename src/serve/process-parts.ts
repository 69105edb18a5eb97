import type { NatsConnection } from "nats";
import type { Logger } from "pino";
import type { Config, NatsConfig } from "../config/config.js";
import type { Database } from "../db/database.js";
import type { EventStore } from "../eventstore/port.js";
import type { Probe } from "../health/readiness.js";
import type { LiveCounts, Metrics } from "../metrics/metrics.js";

/**
 * What the parts of one process (worker, projector, API) share, and where each one registers
 * how it stops, what /health/ready probes and what /metrics counts live.
 */
export interface ProcessParts {
  config: Config;
  log: Logger;
  metrics: Metrics;
  database: Database;
  store: EventStore;
  /** Absent without NATS_URL: then everything runs in this one process. */
  nats: { nc: NatsConnection; config: NatsConfig } | undefined;
  /** Run in reverse order on stop: the last part started is the first stopped. */
  stops: (() => Promise<unknown>)[];
  probes: Record<string, Probe>;
  liveCounts: (() => Partial<LiveCounts>)[];
}
