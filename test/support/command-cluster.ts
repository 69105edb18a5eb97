import type { FastifyInstance } from "fastify";
import type { NatsConnection } from "nats";
import { pino } from "pino";
import { BasketCommandHandler, defaultHandlerOptions } from "../../src/commands/basket-command-handler.js";
import { KvCreateKeys } from "../../src/commands/nats/kv-create-keys.js";
import { NatsCommandBus } from "../../src/commands/nats/nats-command-bus.js";
import {
  type NatsWorker,
  type NatsWorkerOptions,
  startNatsWorker,
} from "../../src/commands/nats/nats-worker.js";
import { buildHttpApp } from "../../src/http/app.js";
import { openTestStore, type StoreBackend } from "./event-stores.js";
import { connectNats, uniquePrefix } from "./nats.js";

const silent = pino({ level: "silent" });

/**
 * The command path as deployed — HTTP API → NATS request-reply → worker queue group → event store
 * (PostgreSQL unless told otherwise) — in one test process: each worker has its own NATS
 * connection and its own cache.
 */
export async function startCommandCluster(options: {
  workers: number;
  timeoutMs?: number;
  routing?: NatsWorkerOptions["routing"];
  backend?: StoreBackend;
}) {
  const routing = options.routing ?? { mode: "shared", partitions: 8 };
  const prefix = uniquePrefix();
  const opened = await openTestStore(options.backend ?? "postgres");
  const { database, store } = opened;
  const connections: NatsConnection[] = [];
  const workers: { worker: NatsWorker; handler: BasketCommandHandler }[] = [];
  const addWorker = async () => {
    const nc = await connectNats("test-worker");
    connections.push(nc);
    const handler = new BasketCommandHandler(store, defaultHandlerOptions);
    const worker = await startNatsWorker(nc, handler, {
      subjectPrefix: prefix,
      version: "0.0.0-test",
      log: silent,
      routing,
    });
    workers.push({ worker, handler });
    return { worker, handler };
  };
  for (let i = 0; i < options.workers; i++) await addWorker();

  const apiNc = await connectNats("test-api");
  connections.push(apiNc);
  const createKeys = await KvCreateKeys.open(apiNc, `${prefix}-create-keys`);
  const bus = new NatsCommandBus(apiNc, {
    subjectPrefix: prefix,
    partitions: routing.partitions,
    timeoutMs: options.timeoutMs ?? 5_000,
  });
  const app: FastifyInstance = await buildHttpApp({
    logger: silent,
    commands: { bus, createKeys },
    version: "0.0.0-test",
  });

  return {
    prefix,
    databaseUrl: database.url as string,
    store,
    app,
    apiNc,
    workers,
    addWorker,
    async stop() {
      await app.close();
      for (const { worker } of workers) await worker.stop();
      await apiNc
        .jetstreamManager()
        .then((jsm) =>
          Promise.all(
            ["create-keys", "routing", "workers"].map((bucket) =>
              jsm.streams.delete(`KV_${prefix}-${bucket}`).catch(() => {}),
            ),
          ),
        )
        .catch(() => {});
      for (const nc of connections) await nc.close();
      await opened.close();
    },
  };
}
