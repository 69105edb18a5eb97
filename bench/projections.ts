/**
 * Projections: throughput over an existing log of 200,000 events, and lag under a steady
 * command load, on PostgreSQL.
 *   npm run bench   (or: npx tsx bench/projections.ts)
 */
import { pino } from "pino";
import { v7 as uuidv7 } from "uuid";
import { basketStreamPrefix } from "../src/aggregates/basket/index.js";
import { BasketCommandHandler } from "../src/commands/basket-command-handler.js";
import type { Database } from "../src/db/database.js";
import type { RecordedEvent } from "../src/eventstore/port.js";
import { PostgresEventStore } from "../src/eventstore/postgres/postgres-event-store.js";
import { projections } from "../src/projections/all-projections.js";
import type { Projection } from "../src/projections/projection.js";
import { defaultRunnerOptions, ProjectionRunner } from "../src/projections/projection-runner.js";
import { seedCatalog, skuPool } from "../test/support/catalog.js";
import { openTestDatabase } from "../test/support/databases.js";
import { projectionCaughtUp } from "../test/support/read-model.js";
import { fillLog, logSize } from "./fill-log.js";
import { summarise } from "./stats.js";

const commandsPerSecond = 500;
const skus = skuPool(40);
const loadSeconds = 10;
const log = pino({ level: "silent" });

function startRunner(
  database: Database,
  store: PostgresEventStore,
  projection: Projection,
  onBatch: (events: RecordedEvent[], committedAt: number) => void = () => {},
) {
  const runner = new ProjectionRunner(database, store, projection, {
    ...defaultRunnerOptions,
    owner: "bench",
    log,
    onBatch,
  });
  runner.start();
  return runner;
}

async function throughput(projection: Projection) {
  const database = await openTestDatabase("postgres", 16);
  const store = new PostgresEventStore(database);
  try {
    await fillLog(store);
    const started = performance.now();
    const runner = startRunner(database, store, projection);
    await projectionCaughtUp(database, store, projection.name, 600_000);
    const seconds = (performance.now() - started) / 1000;
    await runner.stop();
    return {
      projection: projection.name,
      events: logSize,
      seconds: Number(seconds.toFixed(1)),
      eventsPerSecond: Math.round(logSize / seconds),
    };
  } finally {
    await store.close();
  }
}

async function lagUnderLoad() {
  const database = await openTestDatabase("postgres", 16);
  const store = new PostgresEventStore(database);
  const lags: number[] = [];
  const runners = projections.map((projection) =>
    startRunner(database, store, projection, (events, committedAt) => {
      for (const event of events) lags.push(committedAt - event.recordedAt.getTime());
    }),
  );
  try {
    await seedCatalog(store, skus);
    const handler = new BasketCommandHandler(store);
    const baskets = Array.from({ length: 200 }, () => uuidv7());
    for (const basketId of baskets)
      await handler.handle({
        commandId: uuidv7(),
        basketId,
        command: { type: "CreateBasket", data: { basketId } },
      });
    for (const projection of projections) await projectionCaughtUp(database, store, projection.name);
    lags.length = 0;
    // A steady load: a few commands every 10 ms, as a shop's traffic arrives.
    const total = commandsPerSecond * loadSeconds;
    const started = performance.now();
    const sent: Promise<unknown>[] = [];
    for (let i = 0; i < total; i++) {
      const due = started + (i * 1000) / commandsPerSecond;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
      const basketId = baskets[i % baskets.length] as string;
      const sku = skus[Math.floor(i / baskets.length) % skus.length] as string;
      sent.push(
        handler.handle({
          commandId: uuidv7(),
          basketId,
          command: { type: "AddItem", data: { sku, quantity: 1 } },
        }),
      );
    }
    await Promise.all(sent);
    for (const projection of projections) await projectionCaughtUp(database, store, projection.name);
    return summarise(
      `projection lag at ${commandsPerSecond} commands/s (${projections.length} projections)`,
      lags,
      1000,
    );
  } finally {
    for (const runner of runners) await runner.stop();
    await store.close();
  }
}

const rows = [];
// Over a log of baskets: the catalog's projection reads the products' streams, a dozen events here.
for (const projection of projections.filter((p) => p.streamPrefix === basketStreamPrefix))
  rows.push(await throughput(projection));
console.log(
  `\nbench/projections.ts: catching up on a log of ${logSize} events (batches of ${defaultRunnerOptions.batchSize})`,
);
console.table(rows);
const lag = await lagUnderLoad();
console.log(`\nbench/projections.ts: lag per event, commit of its batch less its recording time`);
console.table([{ label: lag.label, events: lag.operations, p50Ms: lag.p50Ms, p99Ms: lag.p99Ms }]);
