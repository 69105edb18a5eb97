import { hostname } from "node:os";
import { Events, type NatsConnection } from "nats";
import type { Logger } from "pino";
import { AdminTokens } from "../access/admin-tokens.js";
import { BasketTokens } from "../access/basket-tokens.js";
import { persistedTokenSecret } from "../access/token-secret-file.js";
import { AsyncCommands } from "../commands/async/async-commands.js";
import { type CommandStatusStore, InMemoryCommandStatusStore } from "../commands/async/command-status.js";
import { InProcessCommandQueue } from "../commands/async/in-process-command-queue.js";
import { QueuedCommandProcessor } from "../commands/async/queued-command-processor.js";
import { BasketCommandHandler, defaultHandlerOptions } from "../commands/basket-command-handler.js";
import { InProcessCommandBus } from "../commands/command-bus.js";
import { InMemoryCreateKeys } from "../commands/create-keys.js";
import { JetStreamCommandQueue } from "../commands/nats/jetstream-command-queue.js";
import { KvCommandStatusStore } from "../commands/nats/kv-command-status.js";
import { KvCreateKeys } from "../commands/nats/kv-create-keys.js";
import { NatsCommandBus } from "../commands/nats/nats-command-bus.js";
import { startNatsWorker } from "../commands/nats/nats-worker.js";
import { startQueuedCommandConsumer } from "../commands/nats/queued-command-consumer.js";
import { commandStatusBucket } from "../commands/nats/subjects.js";
import { agreeOnPartitions } from "../commands/routing/routing-config.js";
import { type Config, ConfigError } from "../config.js";
import { openDatabase } from "../db/database.js";
import { migrateToLatest } from "../db/migrate.js";
import { eventStoreBeside } from "../eventstore/open-event-store.js";
import type { RecordedEvent } from "../eventstore/port.js";
import { databaseProbe, eventStoreProbe, natsProbe } from "../health/probes.js";
import { type Probe, Readiness } from "../health/readiness.js";
import { buildHttpApp, type HttpAppOptions } from "../http/app.js";
import { FeedListeners, feedingAppends } from "../live/basket-event-feed.js";
import { JetStreamEventFeed } from "../live/jetstream-event-feed.js";
import { createMetrics, type LiveCounts, type Metrics } from "../metrics/metrics.js";
import { connectNats, natsHost } from "../nats/connection.js";
import { projections } from "../projections/all-projections.js";
import { isOutbound, type OutboundProjection } from "../projections/projection.js";
import { defaultRunnerOptions, ProjectionRunner } from "../projections/projection-runner.js";
import { BasketQueries } from "../queries/basket-queries.js";
import { RevisionWaiter } from "../queries/revision-waiter.js";
import { ensureEventsStream, eventRelayProjection } from "../relay/event-relay.js";
import { version } from "../version.js";
import type { Role } from "./roles.js";

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
    const { store, close: closeStore } = eventStoreBeside(database, config);
    stops.push(closeStore);
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

    let nc: NatsConnection | undefined;
    if (config.natsUrl) {
      const connection = await connectNats(config.natsUrl, config.nats, {
        name: `basket-${role}`,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 500,
      }).catch((error: Error) => {
        // The URL may hold credentials: name the host only.
        throw new Error(`Cannot connect to NATS at ${natsHost(config.natsUrl as string)}: ${error.message}`);
      });
      nc = connection;
      stops.push(() => connection.drain());
      log.info({ server: connection.getServer() }, "connected to NATS");
      logConnectionChanges(connection, log);
      probes.nats = natsProbe(connection);
    }

    if (nc && handler) {
      const worker = await startNatsWorker(nc, handler, {
        subjectPrefix: config.subjectPrefix,
        version,
        log,
        routing: config.routing,
        metrics,
      });
      liveCounts.push(() => ({ partitionsOwned: worker.partitions.length, rebalances: worker.rebalances }));
      probes.worker = async () => {
        const { serving, detail } = worker.status();
        if (!serving) throw new Error(detail);
        return detail;
      };
      stops.push(() => worker.stop());
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
      stops.push(() => consumer.stop());
    }

    if (runs("projections")) {
      const owner = `${hostname()}:${process.pid}`;
      // The event relay is a projection too; it needs NATS, so without it only the read models run.
      let relay: OutboundProjection | undefined;
      if (nc) {
        await ensureEventsStream(nc, config.subjectPrefix, config.eventsDuplicateWindowMs);
        relay = eventRelayProjection(nc, config.subjectPrefix, config.eventsDuplicateWindowMs);
      } else log.info("no NATS_URL: the event relay does not run");
      const runners = [...projections, ...(relay ? [relay] : [])].map(
        (projection) =>
          new ProjectionRunner(database, store, projection, {
            ...defaultRunnerOptions,
            // A batch the relay publishes twice after a crash stays small.
            ...(isOutbound(projection) ? { batchSize: 1_000 } : {}),
            owner,
            log,
            onBatch: (events, committedAt) => {
              const last = events.at(-1) as RecordedEvent;
              metrics.projectionLag.set(
                { projection: projection.name },
                (committedAt - last.recordedAt.getTime()) / 1000,
              );
              metrics.projectionEvents.inc({ projection: projection.name }, events.length);
            },
          }),
      );
      for (const runner of runners) runner.start();
      stops.push(() => Promise.all(runners.map((runner) => runner.stop())));
      log.info({ projections: runners.map((runner) => runner.name) }, "projections started");
    }

    // Every role listens: the API's routes where it serves them, /metrics everywhere.
    let commands: HttpAppOptions["commands"];
    let queries: HttpAppOptions["queries"];
    let live: HttpAppOptions["live"];
    let access: HttpAppOptions["access"];
    if (runs("http")) {
      const secrets =
        config.access.tokenSecrets ??
        (config.database.kind === "pglite" ? [await persistedTokenSecret(config.database.dataDir)] : []);
      access = {
        tokens: new BasketTokens(secrets),
        admin: new AdminTokens(config.access.adminTokens),
        cookieMaxAgeSeconds: config.access.cookieMaxAgeSeconds,
      };
      if (nc) {
        await ensureEventsStream(nc, config.subjectPrefix, config.eventsDuplicateWindowMs);
        const feed = await JetStreamEventFeed.start(nc, config.subjectPrefix, log);
        stops.push(() => feed.stop());
        live = { store, feed };
      } else live = { store, feed: inProcessFeed as FeedListeners };
      if (nc) {
        await agreeOnPartitions(nc, config.subjectPrefix, config.routing.partitions);
        commands = {
          bus: new NatsCommandBus(nc, {
            subjectPrefix: config.subjectPrefix,
            partitions: config.routing.partitions,
            timeoutMs: config.commandTimeoutMs,
          }),
          createKeys: await KvCreateKeys.open(
            nc,
            `${config.subjectPrefix}-create-keys`,
            config.commandTimeoutMs,
          ),
          asyncCommands: new AsyncCommands(
            await JetStreamCommandQueue.open(nc, config.subjectPrefix),
            await kvStatuses(nc, config),
          ),
        };
      } else {
        const inProcess = handler as BasketCommandHandler;
        const statuses = new InMemoryCommandStatusStore(config.asyncCommands.statusTtlMs);
        const queue = new InProcessCommandQueue(
          queuedCommandProcessor(inProcess, statuses, config, log, metrics),
          config.asyncCommands.maxInFlight,
        );
        stops.push(() => queue.stop());
        commands = {
          bus: new InProcessCommandBus(inProcess, metrics),
          createKeys: new InMemoryCreateKeys(),
          asyncCommands: new AsyncCommands(queue, statuses),
        };
      }
      const basketQueries = new BasketQueries(database.db);
      const waiter = await RevisionWaiter.open(database, basketQueries, {
        onError: (error) => log.warn({ err: error }, "read-your-writes look failed"),
      });
      stops.push(() => waiter.close());
      queries = { queries: basketQueries, waiter };
    }
    const app = await buildHttpApp({
      logger: log,
      version,
      commands,
      queries,
      live,
      access,
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

/** NATS reconnects by itself (forever); the log says when it is away and when it is back. */
function logConnectionChanges(nc: NatsConnection, log: Logger): void {
  (async () => {
    for await (const status of nc.status()) {
      if (status.type === Events.Disconnect) log.warn({ server: status.data }, "disconnected from NATS");
      if (status.type === Events.Reconnect) log.info({ server: status.data }, "reconnected to NATS");
    }
  })().catch(() => {});
}

const kvStatuses = (nc: NatsConnection, config: Config) =>
  KvCommandStatusStore.open(nc, commandStatusBucket(config.subjectPrefix), config.asyncCommands.statusTtlMs);

const queuedCommandProcessor = (
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
