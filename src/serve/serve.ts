import { Events, type NatsConnection } from "nats";
import type { Logger } from "pino";
import { BasketCommandHandler, defaultHandlerOptions } from "../commands/basket-command-handler.js";
import { type Config, ConfigError } from "../config.js";
import { openDatabase } from "../db/database.js";
import { migrateToLatest } from "../db/migrate.js";
import { eventStoreBeside } from "../eventstore/open-event-store.js";
import { databaseProbe, eventStoreProbe, natsProbe } from "../health/probes.js";
import { type Probe, Readiness } from "../health/readiness.js";
import { buildHttpApp } from "../http/app.js";
import { FeedListeners, feedingAppends } from "../live/basket-event-feed.js";
import { createMetrics, type LiveCounts } from "../metrics/metrics.js";
import { connectNats, natsHost } from "../nats/connection.js";
import { version } from "../version.js";
import { apiParts } from "./api-part.js";
import type { ProcessParts } from "./process-parts.js";
import { startProjections } from "./projector-part.js";
import type { Role } from "./roles.js";
import { startWorker } from "./worker-part.js";

export interface Running {
  /** Where the HTTP API listens, for roles that serve it. */
  url?: string;
  /** Graceful: stop taking requests, answer what is in flight, drain NATS, close pools. */
  stop(): Promise<void>;
}

/**
 * The wiring of every process role, in one place:
 * - api: HTTP commands → NATS request-reply (to the basket's partition), and HTTP queries → the read model.
 * - worker: NATS queue group → command handler → event store.
 * - projector: the projections, global log → read model (one active runner each across processes),
 *   and the event relay, global log → JetStream (with NATS_URL).
 * - all: every one of them; without NATS_URL commands are handled in-process (the embedded default).
 */
export async function serve(role: Role, config: Config, log: Logger): Promise<Running> {
  if ((role === "api" || role === "worker") && !config.natsUrl) {
    throw new ConfigError(`NATS_URL is required for --role ${role}.`);
  }
  // API processes sharing PostgreSQL must agree on the secret: only PGlite may make its own.
  if (
    (role === "api" || role === "all") &&
    !config.access.tokenSecrets &&
    config.database.kind !== "pglite"
  ) {
    throw new ConfigError(
      `BASKET_TOKEN_SECRETS is required for --role ${role} on PostgreSQL: comma-separated secrets of at ` +
        "least 32 characters (the first signs basket tokens, all are accepted), the same for every API process.",
    );
  }
  const runs = (part: "commands" | "projections" | "http") =>
    role === "all" ||
    (part === "commands" && role === "worker") ||
    (part === "projections" && role === "projector") ||
    (part === "http" && role === "api");
  const stops: (() => Promise<unknown>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.reverse())
      await stop().catch((error) => log.error({ err: error }, "stopping failed"));
  };
  const liveCounts: (() => Partial<LiveCounts>)[] = [];
  const metrics = createMetrics(() => Object.assign({}, ...liveCounts.map((read) => read())));
  try {
    // On PostgreSQL and PGlite the event store and the read model share one database (and
    // PGlite cannot be opened twice); on EventStoreDB only the read model is in the database.
    const database = await openDatabase(config.database);
    stops.push(() => database.close());
    const { store, close: closeStore, skippedRecords } = eventStoreBeside(database, config, log);
    stops.push(closeStore);
    liveCounts.push(() => ({ recordsSkipped: skippedRecords() }));
    if (config.migrateOnStart) await migrateToLatest(database);
    // What /health/ready looks at: the dependencies this role uses.
    const probes: Record<string, Probe> = { database: databaseProbe(database.db) };
    if (config.eventStore.kind === "esdb" && (runs("commands") || runs("projections")))
      probes.eventStore = eventStoreProbe(store);

    // Without NATS this process is the only writer: its own appends feed the live basket pages.
    const inProcessFeed = config.natsUrl ? undefined : new FeedListeners();
    const handler = runs("commands")
      ? new BasketCommandHandler(inProcessFeed ? feedingAppends(store, inProcessFeed) : store, {
          ...defaultHandlerOptions,
          cacheMaxBaskets: config.cacheMaxBaskets,
          cacheIdleMs: config.cacheIdleMs,
          maxPendingCommands: config.maxPendingCommands,
        })
      : undefined;
    if (handler) liveCounts.push(() => handler.stats);

    const nc = config.natsUrl ? await connectToNats(role, config, log) : undefined;
    if (nc) {
      stops.push(() => nc.drain());
      probes.nats = natsProbe(nc);
    }
    const parts: ProcessParts = { config, log, metrics, database, store, nc, stops, probes, liveCounts };

    if (nc && handler) await startWorker(parts, nc, handler);
    if (runs("projections")) await startProjections(parts);
    const api = runs("http")
      ? await apiParts(parts, handler && inProcessFeed ? { handler, feed: inProcessFeed } : undefined)
      : {};

    // Every role listens: the API's routes where it serves them, /metrics and /health everywhere.
    const app = await buildHttpApp({
      logger: log,
      version,
      ...api,
      trustProxy: config.trustProxy,
      limits: config.http,
      metrics: metrics.registry,
      readiness: new Readiness(probes),
    });
    const url = await app.listen({ port: config.port, host: config.host });
    stops.push(() => app.close());
    return { url, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

async function connectToNats(role: Role, config: Config, log: Logger): Promise<NatsConnection> {
  const url = config.natsUrl as string;
  const nc = await connectNats(url, config.nats, {
    name: `basket-${role}`,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
  }).catch((error: Error) => {
    // The URL may hold credentials: name the host only.
    throw new Error(`Cannot connect to NATS at ${natsHost(url)}: ${error.message}`);
  });
  log.info({ server: nc.getServer() }, "connected to NATS");
  logConnectionChanges(nc, log);
  return nc;
}

/** NATS reconnects by itself (forever); the log says when it is away and when it is back. */
function logConnectionChanges(nc: NatsConnection, log: Logger): void {
  (async () => {
    for await (const status of nc.status()) {
      if (status.type === Events.Disconnect) log.warn({ server: status.data }, "disconnected from NATS");
      if (status.type === Events.Reconnect) log.info({ server: status.data }, "reconnected to NATS");
    }
  })().catch(() => {});
}
