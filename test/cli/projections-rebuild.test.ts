import { type KyselyPlugin, sql } from "kysely";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Database, openDatabase } from "../../src/db/database.js";
import { basketsProjection } from "../../src/projections/baskets/baskets-projection.js";
import { productPopularityProjection } from "../../src/projections/product-popularity/product-popularity-projection.js";
import { planRebuild } from "../../src/projections/rebuild/rebuild-plan.js";
import {
  RebuildInProgress,
  RebuildInterrupted,
  rebuildProjection,
} from "../../src/projections/rebuild/rebuild-projection.js";
import { openTestDatabase } from "../support/databases.js";
import { fillBaskets, keepCommandsComing, keepQuerying } from "../support/in-process-load.js";
import { rebuildSchemas, tableOids } from "../support/pg-catalog.js";
import {
  countBasketEvents,
  expectAppliedOnce,
  expectReadModelIsFold,
  projectionCaughtUp,
} from "../support/read-model.js";
import { expectRebuildUnderLoad, type LiveService, liveService } from "./projections-rebuild-scenario.js";

/** The same database, counting the queries that go through it. */
function countingQueries(database: Database) {
  let queries = 0;
  const plugin: KyselyPlugin = {
    transformQuery: ({ node }) => {
      queries++;
      return node;
    },
    transformResult: async ({ result }) => result,
  };
  const counted: Database = {
    ...database,
    db: database.db.withPlugin(plugin),
    reserve: async () => {
      const connection = await database.reserve();
      return { db: connection.db.withPlugin(plugin), release: () => connection.release() };
    },
  };
  return {
    database: counted,
    get queries() {
      return queries;
    },
  };
}

describe("rebuilding a projection on PostgreSQL", { timeout: 120_000 }, () => {
  let database: Database & { url?: string };
  let service: LiveService;

  beforeAll(async () => {
    database = await openTestDatabase("postgres");
    service = await liveService(database);
  });
  afterAll(async () => {
    await service?.close();
  });

  const checkpointRows = () =>
    database.db.selectFrom("projection_checkpoints").selectAll().orderBy("name").execute();

  it("keeps answering queries and taking commands while it rebuilds, then switches to an exact read model", async () => {
    await expectRebuildUnderLoad(database, service, { baskets: 300, batchSize: 20 });
  });

  it("keeps the live tables' indexes, constraints and foreign key under their own names", async () => {
    const { rows } = await sql<{ table: string; name: string; kind: string }>`
      select c.relname as table, con.conname as name, con.contype::text as kind
      from pg_constraint con join pg_class c on c.oid = con.conrelid
      where c.relname = any(${[...basketsProjection.tables, ...productPopularityProjection.tables]}::text[])
        and c.relnamespace = 'public'::regnamespace
      union all
      select c.relname, i.relname, 'index'
      from pg_index x join pg_class i on i.oid = x.indexrelid join pg_class c on c.oid = x.indrelid
      where c.relname = any(${[...basketsProjection.tables, ...productPopularityProjection.tables]}::text[])
        and c.relnamespace = 'public'::regnamespace
      order by 1, 2, 3`.execute(database.db);
    // As migrations/0002-read-model.ts names them.
    expect(rows).toEqual([
      { table: "basket_view", name: "basket_view_abandoned", kind: "index" },
      { table: "basket_view", name: "basket_view_by_status", kind: "index" },
      { table: "basket_view", name: "basket_view_by_visitor", kind: "index" },
      { table: "basket_view", name: "basket_view_pkey", kind: "index" },
      { table: "basket_view", name: "basket_view_pkey", kind: "p" },
      { table: "basket_view", name: "basket_view_status_check", kind: "c" },
      { table: "basket_view_lines", name: "basket_view_lines_basket_id_fkey", kind: "f" },
      { table: "basket_view_lines", name: "basket_view_lines_pkey", kind: "index" },
      { table: "basket_view_lines", name: "basket_view_lines_pkey", kind: "p" },
      { table: "product_popularity", name: "product_popularity_pkey", kind: "index" },
      { table: "product_popularity", name: "product_popularity_pkey", kind: "p" },
      { table: "product_popularity", name: "product_popularity_ranking", kind: "index" },
      { table: "product_popularity_baskets", name: "product_popularity_baskets_pkey", kind: "index" },
      { table: "product_popularity_baskets", name: "product_popularity_baskets_pkey", kind: "p" },
    ]);
    // The foreign key points at the new basket_view, and still cascades.
    const { rows: fk } = await sql<{ definition: string }>`
      select pg_get_constraintdef(oid) as definition from pg_constraint
      where conname = 'basket_view_lines_basket_id_fkey'`.execute(database.db);
    expect(fk).toEqual([
      { definition: "FOREIGN KEY (basket_id) REFERENCES basket_view(id) ON DELETE CASCADE" },
    ]);
  });

  it("resumes an interrupted rebuild where it stopped, and ends exact", async () => {
    const tablesBefore = await tableOids(database, basketsProjection.tables);
    const interrupt = new AbortController();
    let reports = 0;
    const interrupted = await rebuildProjection(database, basketsProjection, {
      owner: "first-run",
      batchSize: 20,
      signal: interrupt.signal,
      onProgress: () => {
        // The first report is the start; abort after the fifth batch.
        if (++reports === 6) interrupt.abort();
      },
    }).catch((error: unknown) => error);
    expect(interrupted).toBeInstanceOf(RebuildInterrupted);
    expect((interrupted as RebuildInterrupted).eventsApplied).toBe(100);
    const kept = await database.db
      .selectFrom("projection_checkpoints")
      .selectAll()
      .where("name", "=", "baskets@rebuild")
      .executeTakeFirstOrThrow();
    expect(Number(kept.events_applied)).toBe(100);
    expect(await rebuildSchemas(database)).toEqual(["rebuild_baskets"]);
    expect(await tableOids(database, basketsProjection.tables)).toEqual(tablesBefore);

    // Commands go on while the rebuild is away; the live runner keeps the live tables.
    const basketIds = await fillBaskets(service.handler, 20, 2);
    await projectionCaughtUp(database, service.store, "baskets");

    const queries = keepQuerying(database, basketIds);
    const resumed = await rebuildProjection(database, basketsProjection, {
      owner: "second-run",
      batchSize: 50,
    });
    const asked = await queries.stop();
    expect(resumed.plan.start).toMatchObject({
      kind: "resume",
      eventsApplied: 100,
      checkpoint: kept.checkpoint,
    });
    expect(resumed.eventsApplied).toBe(resumed.totalApplied - 100);
    expect(resumed.totalApplied).toBe(await countBasketEvents(database));
    expect(asked.failures).toEqual([]);
    expect(asked.missing).toEqual([]);
    expect(await tableOids(database, basketsProjection.tables)).not.toEqual(tablesBefore);
    expect(await rebuildSchemas(database)).toEqual([]);
    await service.caughtUp();
    await expectReadModelIsFold(database, service.store);
    await expectAppliedOnce(database, ["baskets", "product-popularity"]);
  });

  it("--dry-run says what it would do and changes nothing", async () => {
    // An interrupted rebuild of product-popularity to look at.
    const interrupt = new AbortController();
    await rebuildProjection(database, productPopularityProjection, {
      owner: "dry",
      batchSize: 30,
      signal: interrupt.signal,
      onProgress: ({ done }) => done > 0 && interrupt.abort(),
    }).catch(() => {});
    const before = {
      rows: await checkpointRows(),
      schemas: await rebuildSchemas(database),
      tables: await tableOids(database, productPopularityProjection.tables),
    };
    const total = await countBasketEvents(database);

    const resume = await planRebuild(database.db, productPopularityProjection, { restart: false });
    const restart = await planRebuild(database.db, productPopularityProjection, { restart: true });
    const fresh = await planRebuild(database.db, basketsProjection, { restart: false });

    expect(resume).toMatchObject({
      projection: "product-popularity",
      version: { deployed: 1, stored: 1 },
      tables: ["product_popularity_baskets", "product_popularity"],
      shadowSchema: "rebuild_product_popularity",
      start: { kind: "resume", eventsApplied: 30 },
      eventsToProcess: total - 30,
      eventsInLog: total,
    });
    expect(restart).toMatchObject({
      start: { kind: "fresh", discard: "asked to restart" },
      eventsToProcess: total,
    });
    expect(fresh).toMatchObject({
      shadowSchema: "rebuild_baskets",
      start: { kind: "fresh" },
      eventsToProcess: total,
    });
    expect(fresh.start).not.toHaveProperty("discard");
    expect({
      rows: await checkpointRows(),
      schemas: await rebuildSchemas(database),
      tables: await tableOids(database, productPopularityProjection.tables),
    }).toEqual(before);
    expect(before.schemas).toEqual(["rebuild_product_popularity"]);

    // --restart throws the interrupted shadow away and starts from the beginning.
    const restarted = await rebuildProjection(database, productPopularityProjection, {
      owner: "restart",
      batchSize: 500,
      restart: true,
    });
    expect(restarted.plan.start).toEqual({ kind: "fresh", discard: "asked to restart" });
    expect(restarted.eventsApplied).toBe(total);
    await service.caughtUp();
    await expectReadModelIsFold(database, service.store);
  });

  it("gives up the switch-over while a long query holds the tables, keeps the shadow, and switches next time", async () => {
    const reader = new pg.Client({ connectionString: database.url as string });
    await reader.connect();
    try {
      await reader.query("begin");
      await reader.query("select count(*) from product_popularity");
      const failed = await rebuildProjection(database, productPopularityProjection, {
        owner: "blocked",
        batchSize: 500,
        switchLockTimeoutMs: 100,
        switchAttempts: 2,
      }).catch((error: unknown) => error);
      expect((failed as Error).message).toBe(
        "Could not take the tables of product-popularity for the switch-over in 2 tries of 100 ms " +
          "(a long query holds them?); the shadow is complete and kept: run the rebuild again to resume and switch",
      );
      expect(await rebuildSchemas(database)).toEqual(["rebuild_product_popularity"]);
    } finally {
      await reader.query("commit").catch(() => {});
      await reader.end();
    }
    const total = await countBasketEvents(database);
    const switched = await rebuildProjection(database, productPopularityProjection, {
      owner: "free",
      batchSize: 500,
    });
    expect(switched.plan.start).toMatchObject({ kind: "resume", eventsApplied: total });
    expect(switched.eventsApplied).toBe(0);
    expect(await rebuildSchemas(database)).toEqual([]);
    await expectReadModelIsFold(database, service.store);
  });

  it("runs one rebuild of a projection at a time, across processes", async () => {
    // Another process: a database object of its own, so only the advisory lock can stop it.
    const other = await openDatabase({ kind: "postgres", url: database.url as string });
    try {
      let started!: () => void;
      const running = new Promise<void>((resolve) => {
        started = resolve;
      });
      // Batches of 10 over a few thousand events: it is still at it when the second one starts.
      const first = rebuildProjection(database, basketsProjection, {
        owner: "first",
        batchSize: 10,
        onProgress: () => started(),
      });
      await running;
      const second = await rebuildProjection(other, basketsProjection, {
        owner: "second",
        batchSize: 10,
      }).catch((error: unknown) => error);
      expect(second).toBeInstanceOf(RebuildInProgress);
      expect((second as Error).message).toMatch(
        /^A rebuild of baskets is already running \(database session \d+\)$/,
      );
      expect((await first).plan.start).toEqual({ kind: "fresh" });
    } finally {
      await other.close();
    }
    expect(await rebuildSchemas(database)).toEqual([]);
  });

  it("deploys a new version: its runners wait in needs_rebuild, without spinning, and run after the switch", async () => {
    const v2 = { ...basketsProjection, version: 2 };
    for (const runner of service.runners) if (runner.name === "baskets") await runner.stop();
    const counted = countingQueries(database);
    const waiting = service.runner(v2, { owner: "v2" }, counted.database);
    await expect.poll(() => waiting.state).toBe("needs_rebuild");

    // It looks for the new version every poll (100 ms here: a handful of queries each), not in a
    // tight loop — which it once did, thousands of queries a second.
    const from = counted.queries;
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(counted.queries - from).toBeGreaterThan(20);
    expect(counted.queries - from).toBeLessThan(200);

    // Nothing moves the checkpoint of baskets while it waits.
    const stuck = await database.db
      .selectFrom("projection_checkpoints")
      .selectAll()
      .where("name", "=", "baskets")
      .executeTakeFirstOrThrow();
    const basketIds = await fillBaskets(service.handler, 10, 2);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(
      await database.db
        .selectFrom("projection_checkpoints")
        .selectAll()
        .where("name", "=", "baskets")
        .executeTakeFirstOrThrow(),
    ).toEqual(stuck);
    expect(waiting.state).toBe("needs_rebuild");

    // A runner of the old version (a process not redeployed yet) keeps the read model meanwhile.
    const old = service.runner(basketsProjection, { owner: "v1" });
    await expect.poll(() => old.state).toBe("running");
    await projectionCaughtUp(database, service.store, "baskets");

    const commands = keepCommandsComing(service.handler, basketIds, 7, service.products);
    const result = await rebuildProjection(database, v2, { owner: "deploy", batchSize: 200 });
    expect(result.plan.version).toEqual({ deployed: 2, stored: 1 });
    await expect.poll(() => waiting.state, { timeout: 5_000 }).toBe("running");
    // The old version's runner finds the version changed at its next batch and stands back.
    await expect.poll(() => old.state !== "running", { timeout: 5_000 }).toBe(true);
    await commands.stop();
    await service.caughtUp();
    const deployed = await database.db
      .selectFrom("projection_checkpoints")
      .select(["version", "owner"])
      .where("name", "=", "baskets")
      .executeTakeFirstOrThrow();
    expect(deployed).toEqual({ version: 2, owner: "v2" });
    await expectReadModelIsFold(database, service.store);
    await expectAppliedOnce(database, ["baskets", "product-popularity"]);
  });
});
