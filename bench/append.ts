/**
 * Event store appends: single-event appends to distinct streams, one writer and 32 writers,
 * with and without group commit, on PostgreSQL (and PGlite for comparison).
 *   npm run bench   (or: npx tsx bench/append.ts)
 */
import { randomUUID } from "node:crypto";
import {
  PostgresEventStore,
  type PostgresEventStoreOptions,
} from "../src/eventstore/postgres/postgres-event-store.js";
import { type Backend, openTestDatabase } from "../test/support/databases.js";
import { drive, summarise } from "./stats.js";

const total = Number(process.env.BENCH_APPENDS ?? 5_000);

async function run(label: string, backend: Backend, concurrency: number, options: PostgresEventStoreOptions) {
  const database = await openTestDatabase(backend, Math.max(concurrency, 4));
  const store = new PostgresEventStore(database, options);
  try {
    const prefix = randomUUID();
    await drive(200, concurrency, (i) =>
      store.append(`warmup-${prefix}-${i}`, [{ type: "Warm", data: {} }], "no_stream"),
    );
    const { latencies, elapsedMs } = await drive(total, concurrency, (i) =>
      store.append(
        `bench-${prefix}-${i}`,
        [{ type: "ItemAdded", data: { sku: "s", quantity: 1 } }],
        "no_stream",
      ),
    );
    return summarise(label, latencies, elapsedMs);
  } finally {
    await store.close();
  }
}

const single = { maxAppendsPerTransaction: 1, maxConcurrentTransactions: 32 };
const results = [
  await run("postgres, 1 writer", "postgres", 1, single),
  await run("postgres, 32 writers, one transaction each", "postgres", 32, single),
  await run("postgres, 32 writers, group commit (1 transaction in flight)", "postgres", 32, {}),
  await run("postgres, 32 writers, group commit (4 transactions in flight)", "postgres", 32, {
    maxConcurrentTransactions: 4,
  }),
  await run("pglite, 1 writer", "pglite", 1, {}),
  await run("pglite, 32 writers, group commit", "pglite", 32, {}),
];
console.log(`\nbench/append.ts: ${total} single-event appends to distinct streams per row`);
console.table(results);
