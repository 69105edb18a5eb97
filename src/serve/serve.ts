import { hostname } from "node:os";
import { connect, type NatsConnection } from "nats";
import type { Logger } from "pino";
import { BasketCommandHandler, defaultHandlerOptions } from "../commands/basket-command-handler.js";
import { type CommandBus, InProcessCommandBus } from "../commands/command-bus.js";
import { type CreateKeys, InMemoryCreateKeys } from "../commands/create-keys.js";
import { KvCreateKeys } from "../commands/nats/kv-create-keys.js";
import { NatsCommandBus } from "../commands/nats/nats-command-bus.js";
import { startNatsWorker } from "../commands/nats/nats-worker.js";
import { type Config, ConfigError } from "../config.js";
import { openDatabase } from "../db/database.js";
import { migrateToLatest } from "../db/migrate.js";
import { PostgresEventStore } from "../eventstore/postgres/postgres-event-store.js";
import { buildHttpApp } from "../http/app.js";
import { projections } from "../projections/all-projections.js";
import { defaultRunnerOptions, ProjectionRunner } from "../projections/projection-runner.js";
import { BasketQueries } from "../queries/basket-queries.js";
import { RevisionWaiter } from "../queries/revision-waiter.js";
import { version } from "../version.js";

export const roles = ["api", "worker", "projector", "all"] as const;
export type Role = (typeof roles)[number];

export interface Running {
  /** Where the HTTP API listens, for roles that serve it. */
  url?: string;
  /** Graceful: stop taking requests, answer what is in flight, drain NATS, close pools. */
  stop(): Promise<void>;
}

/**
 * The wiring of every process role, in one place:
 * - api: HTTP commands → NATS request-reply, and HTTP queries → the read model.
 * - worker: NATS queue group → command handler → event store.
 * - projector: the projections, global log → read model (one active runner each across processes).
 * - all: every one of them; without NATS_URL commands are handled in-process (the embedded default).
 */
export async function serve(role: Role, config: Config, log: Logger): Promise<Running> {
  if ((role === "api" || role === "worker") && !config.natsUrl) {
    throw new ConfigError(`NATS_URL is required for --role ${role}.`);
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
  try {
    // The event store and the read model share one database (and PGlite cannot be opened twice).
    const database = await openDatabase(config.database);
    const store = new PostgresEventStore(database, { maxConcurrentTransactions: config.appendConcurrency });
    stops.push(() => store.close());
    if (config.migrateOnStart) await migrateToLatest(database);

    const handler = runs("commands")
      ? new BasketCommandHandler(store, {
          ...defaultHandlerOptions,
          cacheMaxBaskets: config.cacheMaxBaskets,
          cacheIdleMs: config.cacheIdleMs,
          maxPendingCommands: config.maxPendingCommands,
        })
      : undefined;

    let nc: NatsConnection | undefined;
    if (config.natsUrl && role !== "projector") {
      const connection = await connect({
        servers: config.natsUrl,
        name: `basket-${role}`,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 500,
      });
      nc = connection;
      stops.push(() => connection.drain());
      log.info({ server: connection.getServer() }, "connected to NATS");
    }

    if (nc && handler) {
      const worker = await startNatsWorker(nc, handler, {
        subjectPrefix: config.subjectPrefix,
        version,
        log,
      });
      stops.push(() => worker.stop());
      log.info({ subjects: `${config.subjectPrefix}.cmd.*` }, "worker serving basket commands");
    }

    if (runs("projections")) {
      const owner = `${hostname()}:${process.pid}`;
      const runners = projections.map(
        (projection) =>
          new ProjectionRunner(database, store, projection, { ...defaultRunnerOptions, owner, log }),
      );
      for (const runner of runners) runner.start();
      stops.push(() => Promise.all(runners.map((runner) => runner.stop())));
      log.info({ projections: runners.map((runner) => runner.name) }, "projections started");
    }

    if (!runs("http")) return { stop: stopAll };

    let bus: CommandBus;
    let createKeys: CreateKeys;
    if (nc) {
      bus = new NatsCommandBus(nc, {
        subjectPrefix: config.subjectPrefix,
        timeoutMs: config.commandTimeoutMs,
      });
      createKeys = await KvCreateKeys.open(nc, `${config.subjectPrefix}-create-keys`);
    } else {
      bus = new InProcessCommandBus(handler as BasketCommandHandler);
      createKeys = new InMemoryCreateKeys();
    }
    const queries = new BasketQueries(database.db);
    const waiter = await RevisionWaiter.open(database, queries, {
      onError: (error) => log.warn({ err: error }, "read-your-writes look failed"),
    });
    stops.push(() => waiter.close());
    const app = await buildHttpApp({ logger: log, bus, createKeys, version, queries: { queries, waiter } });
    const url = await app.listen({ port: config.port, host: config.host });
    stops.push(() => app.close());
    return { url, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
