import { sql } from "kysely";
import { pino } from "pino";
import { expect } from "vitest";
import { BasketCommandHandler } from "../../src/commands/basket-command-handler.js";
import { ProductCommandHandler } from "../../src/commands/catalog/product-command-handler.js";
import type { Database } from "../../src/db/database.js";
import { PostgresEventStore } from "../../src/eventstore/postgres/postgres-event-store.js";
import { projections } from "../../src/projections/all-projections.js";
import type { Projection } from "../../src/projections/projection.js";
import {
  defaultRunnerOptions,
  ProjectionRunner,
  type RunnerOptions,
} from "../../src/projections/projection-runner.js";
import { type RebuildResult, rebuildProjection } from "../../src/projections/rebuild/rebuild-projection.js";
import {
  fillBaskets,
  keepCommandsComing,
  keepQuerying,
  seedLoadCatalog,
} from "../support/in-process-load.js";
import { rebuildSchemas, tableOids } from "../support/pg-catalog.js";
import {
  countProjectedEvents,
  expectAppliedOnce,
  expectReadModelIsFold,
  projectionCaughtUp,
} from "../support/read-model.js";

/**
 * A store, a command handler, the catalog's (its load's products listed) and live runners on a
 * test database, as a projector process has them.
 */
export async function liveService(database: Database) {
  const store = new PostgresEventStore(database);
  await seedLoadCatalog(store);
  const handler = new BasketCommandHandler(store);
  const products = new ProductCommandHandler(store);
  const runners: ProjectionRunner[] = [];
  const runner = (projection: Projection, options: Partial<RunnerOptions> = {}, on = database) => {
    const started = new ProjectionRunner(on, store, projection, {
      ...defaultRunnerOptions,
      owner: `live-${runners.length}`,
      batchSize: 50,
      pollMs: 100,
      standbyRetryMs: 100,
      log: pino({ level: "silent" }),
      ...options,
    });
    runners.push(started);
    started.start();
    return started;
  };
  return {
    store,
    handler,
    products,
    runner,
    runners,
    async caughtUp() {
      for (const projection of projections)
        await projectionCaughtUp(database, store, projection.name, 30_000);
    },
    async close() {
      for (const started of runners) await started.stop();
      await store.close();
    },
  };
}

export type LiveService = Awaited<ReturnType<typeof liveService>>;

/**
 * Rebuilds every projection while commands keep arriving and queries keep asking, with live
 * runners running throughout, and checks that no query failed or missed a basket, that the
 * tables were really swapped, and that the read model is then exactly the fold of the log.
 */
export async function expectRebuildUnderLoad(
  database: Database,
  service: LiveService,
  options: { baskets: number; batchSize: number },
) {
  const live = projections.map((projection) => service.runner(projection));
  const basketIds = await fillBaskets(service.handler, options.baskets, 4);
  await service.caughtUp();
  const tablesBefore = await Promise.all(
    projections.map((projection) => tableOids(database, projection.tables)),
  );
  const eventsBefore = await Promise.all(
    projections.map((projection) => countProjectedEvents(database, projection.name)),
  );

  const commands = keepCommandsComing(service.handler, basketIds, 42, service.products);
  const queries = keepQuerying(database, basketIds);
  const results: RebuildResult[] = [];
  const phases = new Set<string>();
  for (const projection of projections) {
    results.push(
      await rebuildProjection(database, projection, {
        owner: "test-rebuild",
        batchSize: options.batchSize,
        onProgress: (progress) => phases.add(progress.phase),
      }),
    );
  }
  const handledDuringRebuild = commands.handled;
  // The live runners go on from the new checkpoints while commands still arrive.
  const appliedAtSwitch = await database.db
    .selectFrom("projection_checkpoints")
    .select(["name", "position"])
    .execute();
  await expect
    .poll(
      async () =>
        (await database.db.selectFrom("projection_checkpoints").select(["name", "position"]).execute()).every(
          (row) =>
            BigInt(row.position ?? 0) >
            BigInt(appliedAtSwitch.find((at) => at.name === row.name)?.position ?? 0),
        ),
      { timeout: 10_000 },
    )
    .toBe(true);
  await commands.stop();
  const asked = await queries.stop();
  await service.caughtUp();

  expect(asked.failures).toEqual([]);
  expect(asked.missing).toEqual([]);
  expect(asked.answered).toBeGreaterThan(20);
  expect(handledDuringRebuild).toBeGreaterThan(20);
  expect([...phases]).toEqual(["building", "switching", "switched"]);
  results.forEach((result, i) => {
    expect(result.plan.start).toEqual({ kind: "fresh" });
    // It caught up with events appended while it rebuilt, not just those there at its start.
    expect(result.totalApplied).toBeGreaterThan(eventsBefore[i] as number);
  });
  const tablesAfter = await Promise.all(
    projections.map((projection) => tableOids(database, projection.tables)),
  );
  projections.forEach((_, i) => {
    for (const [n, oid] of (tablesAfter[i] ?? []).entries()) expect(oid).not.toBe(tablesBefore[i]?.[n]);
  });
  expect(await rebuildSchemas(database)).toEqual([]);
  const { rows: leftovers } = await sql<{ name: string }>`
    select name from projection_checkpoints where name like '%@rebuild'`.execute(database.db);
  expect(leftovers).toEqual([]);
  for (const runner of live) expect(runner.state).toBe("running");
  await expectReadModelIsFold(database, service.store);
  await expectAppliedOnce(
    database,
    projections.map((projection) => projection.name),
  );
}
