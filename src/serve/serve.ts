import { connect, type NatsConnection } from "nats";
import type { Logger } from "pino";
import { BasketCommandHandler, defaultHandlerOptions } from "../commands/basket-command-handler.js";
import { type CommandBus, InProcessCommandBus } from "../commands/command-bus.js";
import { type CreateKeys, InMemoryCreateKeys } from "../commands/create-keys.js";
import { KvCreateKeys } from "../commands/nats/kv-create-keys.js";
import { NatsCommandBus } from "../commands/nats/nats-command-bus.js";
import { startNatsWorker } from "../commands/nats/nats-worker.js";
import { type Config, ConfigError } from "../config.js";
import { openEventStore } from "../eventstore/open-event-store.js";
import type { EventStore } from "../eventstore/port.js";
import { buildHttpApp } from "../http/app.js";
import { version } from "../version.js";

export const roles = ["api", "worker", "all"] as const;
export type Role = (typeof roles)[number];

export interface Running {
  /** Where the HTTP API listens, for roles that serve it. */
  url?: string;
  /** Graceful: stop taking requests, answer what is in flight, drain NATS, close pools. */
  stop(): Promise<void>;
}

/**
 * The wiring of every process role, in one place:
 * - api: HTTP → NATS request-reply; no database.
 * - worker: NATS queue group → command handler → event store.
 * - all: both; without NATS_URL the API calls the handler in-process (the embedded default).
 */
export async function serve(role: Role, config: Config, log: Logger): Promise<Running> {
  if (role !== "all" && !config.natsUrl) throw new ConfigError(`NATS_URL is required for --role ${role}.`);
  const stops: (() => Promise<unknown>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.reverse())
      await stop().catch((error) => log.error({ err: error }, "stopping failed"));
  };
  try {
    let store: EventStore | undefined;
    let handler: BasketCommandHandler | undefined;
    if (role !== "api") {
      store = await openEventStore(config.database, {
        migrate: config.migrateOnStart,
        appendConcurrency: config.appendConcurrency,
      });
      stops.push(() => (store as EventStore).close());
      handler = new BasketCommandHandler(store, {
        ...defaultHandlerOptions,
        cacheMaxBaskets: config.cacheMaxBaskets,
        cacheIdleMs: config.cacheIdleMs,
        maxPendingCommands: config.maxPendingCommands,
      });
    }

    let nc: NatsConnection | undefined;
    if (config.natsUrl) {
      nc = await connect({
        servers: config.natsUrl,
        name: `basket-${role}`,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 500,
      });
      const connection = nc;
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

    if (role === "worker") return { stop: stopAll };

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
    const app = await buildHttpApp({ logger: log, bus, createKeys, version });
    const url = await app.listen({ port: config.port, host: config.host });
    stops.push(() => app.close());
    return { url, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
