/**
 * Rebuilds: throughput of `projections rebuild` over a log of 200,000 basket events, for each
 * projection, on PostgreSQL — into shadow tables while the live runners (caught up) keep
 * running, then the switch-over, whose duration is how long queries may wait on it.
 *   npx tsx bench/rebuild.ts   (BENCH_LOG_EVENTS=… for another log size)
 */
import { pino } from "pino";
import { PostgresEventStore } from "../src/eventstore/postgres/postgres-event-store.js";
import { projections } from "../src/projections/all-projections.js";
import { defaultRunnerOptions, ProjectionRunner } from "../src/projections/projection-runner.js";
import { defaultRebuildOptions, rebuildProjection } from "../src/projections/rebuild/rebuild-projection.js";
import { openTestDatabase } from "../test/support/databases.js";
import { projectionCaughtUp } from "../test/support/read-model.js";
import { fillLog, logSize } from "./fill-log.js";

const database = await openTestDatabase("postgres", 16);
const store = new PostgresEventStore(database);
const runners = projections.map(
  (projection) =>
    new ProjectionRunner(database, store, projection, {
      ...defaultRunnerOptions,
      owner: "bench-live",
      log: pino({ level: "silent" }),
    }),
);
const rows = [];
try {
  await fillLog(store);
  for (const runner of runners) runner.start();
  for (const projection of projections) await projectionCaughtUp(database, store, projection.name, 600_000);
  for (const projection of projections) {
    const result = await rebuildProjection(database, projection, {
      owner: "bench",
      batchSize: defaultRebuildOptions.batchSize,
    });
    rows.push({
      projection: projection.name,
      events: result.totalApplied,
      seconds: Number(result.seconds.toFixed(1)),
      eventsPerSecond: Math.round(result.totalApplied / result.seconds),
      switchMs: Math.round(result.switchMs),
    });
  }
} finally {
  for (const runner of runners) await runner.stop();
  await store.close();
}
console.log(
  `\nbench/rebuild.ts: rebuilding from a log of ${logSize} events into shadow tables, live runners running ` +
    `(batches of ${defaultRebuildOptions.batchSize}); switchMs: how long the switch-over held the live tables`,
);
console.table(rows);
