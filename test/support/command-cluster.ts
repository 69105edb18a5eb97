import type { FastifyInstance } from "fastify";
import type { NatsConnection } from "nats";
import { pino } from "pino";
import { AsyncCommands } from "../../src/commands/async/async-commands.js";
import {
  type QueuedCommandOptions,
  QueuedCommandProcessor,
} from "../../src/commands/async/queued-command-processor.js";
import { BasketCommandHandler, defaultHandlerOptions } from "../../src/commands/basket-command-handler.js";
import { ProductCommandHandler } from "../../src/commands/catalog/product-command-handler.js";
import type { EventStore } from "../../src/eventstore/port.js";
import { buildHttpApp, type HttpAppOptions } from "../../src/http/app.js";
import { IdempotencyKeys } from "../../src/http/idempotency.js";
import { defaultHttpLimits } from "../../src/http/limits.js";
import { KvIdempotencyClaims } from "../../src/nats/commands/kv-idempotency-claims.js";
import { NatsCommandBus } from "../../src/nats/commands/nats-command-bus.js";
import {
  type NatsWorker,
  type NatsWorkerOptions,
  startNatsWorker,
} from "../../src/nats/commands/nats-worker.js";
import {
  commandQueueStream,
  commandStatusBucket,
  deadLetterStream,
  idempotencyBucket,
} from "../../src/nats/names.js";
import { JetStreamCommandQueue } from "../../src/nats/queue/jetstream-command-queue.js";
import { KvCommandStatusStore } from "../../src/nats/queue/kv-command-status.js";
import {
  type QueuedCommandConsumer,
  type QueuedCommandConsumerOptions,
  startQueuedCommandConsumer,
} from "../../src/nats/queue/queued-command-consumer.js";
import { projections } from "../../src/projections/all-projections.js";
import { defaultRunnerOptions, ProjectionRunner } from "../../src/projections/projection-runner.js";
import { BasketQueries } from "../../src/queries/basket-queries.js";
import { CatalogQueries } from "../../src/queries/catalog-queries.js";
import { RevisionWaiter } from "../../src/queries/revision-waiter.js";
import { testAccess, testTokenSecret } from "./baskets.js";
import { seedCatalog, type TestPrices } from "./catalog.js";
import { openTestStore, type StoreBackend } from "./event-stores.js";
import { connectNats, uniquePrefix } from "./nats.js";

const silent = pino({ level: "silent" });

export interface AsyncOptions extends QueuedCommandOptions {
  maxInFlight: number;
  ackWaitMs: number;
  maxAckPending: number;
  statusTtlMs: number;
  beforeAck?: QueuedCommandConsumerOptions["beforeAck"] | undefined;
}

export const defaultAsyncOptions: AsyncOptions = {
  maxInFlight: 8,
  ackWaitMs: 2_000,
  maxAckPending: 1_000,
  maxDeliveries: 3,
  retryDelayMs: 50,
  statusTtlMs: 60_000,
};

/**
 * The command path as deployed — HTTP API → NATS request-reply (or, with Prefer: respond-async,
 * the JetStream work queue) → worker → event store (PostgreSQL unless told otherwise) — in one
 * test process: each worker has its own NATS connection and its own cache. With `readSide`, the
 * projections run too and the API serves the query routes.
 */
export async function startCommandCluster(options: {
  workers: number;
  timeoutMs?: number;
  routing?: NatsWorkerOptions["routing"];
  async?: Partial<AsyncOptions>;
  readSide?: { waitTimeoutMs: number };
  backend?: StoreBackend;
}) {
  const routing = options.routing ?? { mode: "shared", partitions: 8 };
  const asyncOptions = { ...defaultAsyncOptions, ...options.async };
  const prefix = uniquePrefix();
  const opened = await openTestStore(options.backend ?? "postgres");
  const { database, store } = opened;
  const connections: NatsConnection[] = [];
  const workers: { worker: NatsWorker; handler: BasketCommandHandler; consumer: QueuedCommandConsumer }[] =
    [];
  /** A worker of its own store (one made to stall, say) when given one. */
  const addWorker = async (workerStore: EventStore = store) => {
    const nc = await connectNats("test-worker");
    connections.push(nc);
    const handler = new BasketCommandHandler(workerStore, defaultHandlerOptions);
    const worker = await startNatsWorker(nc, handler, {
      subjectPrefix: prefix,
      replicas: 1,
      version: "0.0.0-test",
      log: silent,
      routing,
    });
    const statuses = await KvCommandStatusStore.open(nc, commandStatusBucket(prefix), {
      ttlMs: asyncOptions.statusTtlMs,
      replicas: 1,
      timeoutMs: 5_000,
    });
    const processor = new QueuedCommandProcessor(handler, statuses, asyncOptions, silent);
    const consumer = await startQueuedCommandConsumer(nc, processor, {
      ...asyncOptions,
      subjectPrefix: prefix,
      replicas: 1,
      log: silent,
    });
    workers.push({ worker, handler, consumer });
    return { worker, handler, consumer };
  };
  for (let i = 0; i < options.workers; i++) await addWorker();

  const apiNc = await connectNats("test-api");
  connections.push(apiNc);
  const keys = new IdempotencyKeys(testTokenSecret);
  const claims = await KvIdempotencyClaims.open(apiNc, idempotencyBucket(prefix), {
    staleAfterMs: (options.timeoutMs ?? 5_000) + 5_000,
    replicas: 1,
    timeoutMs: options.timeoutMs ?? 5_000,
  });
  const bus = new NatsCommandBus(apiNc, {
    subjectPrefix: prefix,
    partitions: routing.partitions,
    timeoutMs: options.timeoutMs ?? 5_000,
  });
  const statuses = await KvCommandStatusStore.open(apiNc, commandStatusBucket(prefix), {
    ttlMs: asyncOptions.statusTtlMs,
    replicas: 1,
    timeoutMs: 5_000,
  });
  const asyncCommands = new AsyncCommands(
    await JetStreamCommandQueue.open(apiNc, prefix, { replicas: 1, timeoutMs: 5_000 }),
    statuses,
  );
  let queries: HttpAppOptions["queries"];
  const runners: ProjectionRunner[] = [];
  if (options.readSide) {
    for (const projection of projections) {
      const runner = new ProjectionRunner(database, store, projection, {
        ...defaultRunnerOptions,
        owner: `${prefix}-projector`,
        log: silent,
      });
      runner.start();
      runners.push(runner);
    }
    const basketQueries = new BasketQueries(database.db);
    const waiter = await RevisionWaiter.open(database, basketQueries, {
      timeoutMs: options.readSide.waitTimeoutMs,
    });
    queries = { queries: basketQueries, waiter };
  }
  // The catalog's routes: the operator's writes go to the products' streams, which the workers
  // price from; the shop's reads answer from the read model once the projections run.
  const catalog = { products: new ProductCommandHandler(store), queries: new CatalogQueries(database.db) };
  const app: FastifyInstance = await buildHttpApp({
    logger: silent,
    commands: { bus, keys, claims, asyncCommands },
    queries,
    catalog,
    access: testAccess(),
    // Tests send many requests from one address, on a busy machine: no rate limit, no shedding
    // (test/http/limits.test.ts is theirs).
    limits: {
      ...defaultHttpLimits,
      rateLimit: { max: 0, windowMs: 1_000 },
      maxInFlight: 0,
      pressure: { ...defaultHttpLimits.pressure, maxEventLoopDelayMs: 0 },
    },
    version: "0.0.0-test",
  });

  return {
    prefix,
    databaseUrl: database.url as string,
    store,
    app,
    apiNc,
    asyncCommands,
    workers,
    addWorker,
    database,
    /** Lists products in the catalog the workers price from (test/support/catalog.ts). */
    seedCatalog: (products: TestPrices | readonly string[]) => seedCatalog(store, products),
    /** Events in the store, whichever it is. */
    countEvents: () => opened.countEvents(),
    async stop() {
      await app.close();
      await queries?.waiter.close();
      for (const runner of runners) await runner.stop();
      for (const { worker, consumer } of workers) {
        await consumer.stop();
        await worker.stop();
      }
      await apiNc
        .jetstreamManager()
        .then((jsm) =>
          Promise.all(
            [
              ...["idempotency", "routing", "workers"].map((bucket) => `KV_${prefix}-${bucket}`),
              `KV_${commandStatusBucket(prefix)}`,
              commandQueueStream(prefix),
              deadLetterStream(prefix),
            ].map((stream) => jsm.streams.delete(stream).catch(() => {})),
          ),
        )
        .catch(() => {});
      for (const nc of connections) await nc.close();
      await opened.close();
    },
  };
}
