import { Events, type NatsConnection } from "nats";
import type { Logger } from "pino";
import { productStreamPrefix } from "../aggregates/product/index.js";
import { BasketCommandHandler } from "../commands/basket-command-handler.js";
import { seedDemoCatalog } from "../commands/catalog/demo-catalog.js";
import { ProductCommandHandler } from "../commands/catalog/product-command-handler.js";
import type { Config, NatsConfig } from "../config/config.js";
import { checkRole, type Role } from "../config/roles.js";
import { openStores } from "../eventstore/open-stores.js";
import { tracedEventStore } from "../eventstore/traced-event-store.js";
import { databaseProbe, eventStoreProbe, natsProbe } from "../health/probes.js";
import { type Probe, Readiness } from "../health/readiness.js";
import { buildHttpApp } from "../http/app.js";
import { FeedListeners, feedingAppends } from "../live/basket-event-feed.js";
import { createMetrics, type LiveCounts } from "../metrics/metrics.js";
import { connectNats } from "../nats/connection.js";
import { assetReplicas, describeReplicas, replicasOtherThan } from "../nats/jetstream/replicas.js";
import { version } from "../version.js";
import { apiParts } from "./api-part.js";
import type { ProcessParts } from "./process-parts.js";
import { startProjections } from "./projector-part.js";
import { startWorker } from "./worker-part.js";

export interface Running {
  /** Where the process listens: the API, or a worker's or projector's /metrics and /health. */
  url: string;
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
 *
 * Every role listens — the API's routes where it serves them, /metrics and /health everywhere —
 * and binds its port before it takes work or locks: a process that cannot listen exits holding nothing.
 */
export async function serve(role: Role, config: Config, log: Logger): Promise<Running> {
  checkRole(config, role);
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
    const stores = await openStores(config.store, log);
    stops.push(() => stores.close());
    // While tracing, what a command spends in the store shows in its trace, whatever the backend.
    const store = config.tracing.enabled ? tracedEventStore(stores.store) : stores.store;
    liveCounts.push(() => ({ recordsSkipped: stores.skippedRecords() }));
    const { database } = stores;
    // The embedded default's shop works on a fresh machine: a demo catalog, into an empty one only.
    if (role === "all" && config.store.database.kind === "pglite") {
      const listed = await seedDemoCatalog(new ProductCommandHandler(store), async () => {
        const page = await store.readAll({ limit: 1, streamPrefix: productStreamPrefix });
        return page.events.length === 0;
      });
      if (listed > 0) log.info({ products: listed }, "listed the demo catalog in an empty catalog");
    }
    // What /health/ready looks at: the dependencies this role uses, and that it has started.
    let started = false;
    const probes: Record<string, Probe> = {
      started: async () => {
        if (!started) throw new Error("starting");
        return undefined;
      },
      database: databaseProbe(database.db),
    };
    if (config.store.eventStore.kind === "esdb" && (runs("commands") || runs("projections")))
      probes.eventStore = eventStoreProbe(store);

    // Without NATS this process is the only writer: its own appends feed the live basket pages.
    const inProcessFeed = config.nats ? undefined : new FeedListeners();
    const handler = runs("commands")
      ? new BasketCommandHandler(
          inProcessFeed ? feedingAppends(store, inProcessFeed) : store,
          config.commands.handler,
        )
      : undefined;
    if (handler) liveCounts.push(() => handler.stats);

    const nats = config.nats
      ? { nc: await connectToNats(role, config.nats, log), config: config.nats }
      : undefined;
    if (nats) {
      stops.push(() => nats.nc.drain());
      probes.nats = natsProbe(nats.nc, await reportReplicas(nats.nc, nats.config, log));
    }
    const parts: ProcessParts = { config, log, metrics, database, store, nats, stops, probes, liveCounts };

    const api = runs("http")
      ? await apiParts(parts, handler && inProcessFeed ? { handler, feed: inProcessFeed } : undefined)
      : {};
    const app = await buildHttpApp({
      logger: log,
      version,
      ...api,
      trustProxy: config.http.trustProxy,
      limits: config.http.limits,
      tracing: config.tracing.enabled,
      metrics: metrics.registry,
      readiness: new Readiness(probes),
    });
    const port = runs("http") ? config.http.port : config.http.metricsPort;
    const url = await app.listen({ port, host: config.http.host });
    stops.push(() => app.close());

    if (nats && handler) await startWorker(parts, nats, handler);
    if (runs("projections")) await startProjections(parts);
    started = true;
    return { url, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

async function connectToNats(role: Role, config: NatsConfig, log: Logger): Promise<NatsConnection> {
  const nc = await connectNats(config.servers, config.connection, {
    name: `basket-${role}`,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
  });
  log.info({ server: nc.getServer() }, "connected to NATS");
  logConnectionChanges(nc, log);
  return nc;
}

/**
 * Streams and KV buckets made earlier with other replicas than NATS_REPLICAS — a deployment that
 * grew from one NATS node to three, say — are left as they are (src/nats/jetstream/streams.ts):
 * said once at start, in the log and in /health/ready's `nats` detail, for the operator to
 * change with `basket nats check --fix`.
 */
async function reportReplicas(
  nc: NatsConnection,
  config: NatsConfig,
  log: Logger,
): Promise<string | undefined> {
  const found = await assetReplicas(await nc.jetstreamManager(), config.prefix);
  const differing = replicasOtherThan(found, config.replicas);
  if (differing.length === 0) return undefined;
  const detail =
    `at start, replicas other than NATS_REPLICAS=${config.replicas}: ${describeReplicas(differing)}` +
    " (basket nats check --fix changes them)";
  log.warn({ differing: differing.map(({ name, replicas }) => ({ name, replicas })) }, detail);
  return detail;
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
