import { sql } from "kysely";
import pg from "pg";
import { pino } from "pino";
import { v7 as uuidv7 } from "uuid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { basketStream } from "../../src/aggregates/basket/index.js";
import type { Database } from "../../src/db/database.js";
import type { NewEvent, RecordedEvent } from "../../src/eventstore/port.js";
import { PostgresEventStore } from "../../src/eventstore/postgres/postgres-event-store.js";
import { basketsProjection } from "../../src/projections/baskets/baskets-projection.js";
import { productPopularityProjection } from "../../src/projections/product-popularity/product-popularity-projection.js";
import { defaultRunnerOptions, ProjectionRunner } from "../../src/projections/projection-runner.js";
import type { ProjectionStatus } from "../../src/projections/projection-status.js";
import { operatorEnv } from "../support/baskets.js";
import { openTestDatabase } from "../support/databases.js";
import { appendBaskets } from "../support/event-streams.js";
import { rebuildSchemas } from "../support/pg-catalog.js";
import { startCli } from "../support/processes.js";
import { allBasketIds, foldedBasket, readModelBasket } from "../support/read-model.js";

/** Runs `basket <args>` to its end: exit code, and every line it wrote (JSON lines parsed). */
async function basket(args: string[], env: Record<string, string>) {
  const cli = startCli(args, env);
  const code = await cli.exited;
  // Let the last lines arrive.
  await new Promise((resolve) => setTimeout(resolve, 50));
  const text = cli.lines
    .map((line) => (typeof line.msg === "string" ? line.msg : JSON.stringify(line)))
    .join("\n");
  return { code, lines: cli.lines as unknown[], text };
}

const jsonOf = <T>(lines: unknown[]): T =>
  lines.find((line) => typeof line === "object" && !("msg" in (line as object))) as T;

/** A table row of `projections list`, by its first cell. */
function listRow(text: string, name: string): string[] | undefined {
  return text
    .split("\n")
    .map((line) => line.split(/ {2,}/))
    .find((cells) => cells[0] === name);
}

// Each CLI run starts a process through tsx: seconds each on a busy machine.
describe("basket projections (the CLI)", { timeout: 120_000 }, () => {
  let database: Database & { url?: string };
  let store: PostgresEventStore;
  let env: Record<string, string>;
  beforeAll(async () => {
    database = await openTestDatabase("postgres");
    store = new PostgresEventStore(database);
    env = { DATABASE_URL: database.url as string };
  });
  afterAll(() => store?.close());

  /** projectionCaughtUp would wait for the other streams' events too, which no projection reads. */
  const appliedAll = (name: string, events: number) =>
    expect
      .poll(
        async () =>
          (
            await database.db
              .selectFrom("projection_checkpoints")
              .select("events_applied")
              .where("name", "=", name)
              .executeTakeFirst()
          )?.events_applied,
        { timeout: 10_000 },
      )
      .toBe(String(events));

  /** A basket stored before the catalog (ItemAdded v1): the projections read it through the upcaster. */
  const appendBasket = (items: number) => {
    const basketId = uuidv7();
    const events: NewEvent[] = [
      { type: "BasketCreated", data: { basketId, visitorId: null, currency: "EUR" } },
    ];
    for (let i = 0; i < items; i++)
      events.push({ type: "ItemAdded", data: { sku: `cli-${i}`, name: "Cup", unitPrice: 300, quantity: 1 } });
    return store.append(basketStream(basketId), events, "no_stream");
  };

  it("has --help for the group and every subcommand", async () => {
    const [group, list, status, rebuild] = await Promise.all([
      basket(["projections", "--help"], env),
      basket(["projections", "list", "--help"], env),
      basket(["projections", "status", "--help"], env),
      basket(["projections", "rebuild", "--help"], env),
    ]);
    for (const help of [group, list, status, rebuild]) expect(help.code).toBe(0);
    expect(group.text).toMatch(
      /list \[options\][\s\S]*status \[options\] \[name\][\s\S]*rebuild \[options\] <name>/,
    );
    expect(list.text).toContain("--json");
    expect(status.text).toContain("baskets, product-popularity");
    for (const flag of ["--dry-run", "--restart", "--batch-size <events>", "--json"])
      expect(rebuild.text).toContain(flag);
  });

  it("refuses bad usage with exit code 2 and a clear message", async () => {
    const [unknownStatus, unknownRebuild, missing, batchSize, subcommand] = await Promise.all([
      basket(["projections", "status", "nope"], env),
      basket(["projections", "rebuild", "nope", "--dry-run"], env),
      basket(["projections", "rebuild"], env),
      basket(["projections", "rebuild", "baskets", "--batch-size", "0"], env),
      basket(["projections", "frobnicate"], env),
    ]);
    for (const refused of [unknownStatus, unknownRebuild, missing, batchSize, subcommand])
      expect(refused.code).toBe(2);
    for (const unknown of [unknownStatus, unknownRebuild])
      expect(unknown.text).toContain(
        'Unknown projection "nope": known are baskets, product-popularity, catalog, event-relay',
      );
    expect(missing.text).toContain("error: missing required argument 'name'");
    expect(batchSize.text).toContain("expected an integer from 1 to 1000000");
    expect(subcommand.text).toContain("error: unknown command 'frobnicate'");
  });

  it("says so when the database cannot be reached", async () => {
    const nowhere = { DATABASE_URL: "postgres://someone:secret@127.0.0.1:1/nowhere", ...operatorEnv };
    const runs = await Promise.all([
      basket(["projections", "list"], nowhere),
      basket(["projections", "status", "baskets"], nowhere),
      basket(["projections", "rebuild", "baskets"], nowhere),
    ]);
    for (const run of runs) {
      expect(run.code).toBe(1);
      expect(run.text).toMatch(
        /^basket: Cannot reach the database \(PostgreSQL at 127\.0\.0\.1:1\/nowhere\): .*ECONNREFUSED/,
      );
      expect(run.text).not.toContain("secret");
    }
  });

  it("lists each projection with its version, checkpoint, lag in events and seconds, owner and lock", async () => {
    // 5 baskets of 3 events, and events of a stream no projection reads.
    for (let i = 0; i < 5; i++) await appendBasket(2);
    await store.append(
      "other-1",
      [
        { type: "Noise", data: {} },
        { type: "Noise", data: {} },
      ],
      "no_stream",
    );
    const runner = new ProjectionRunner(database, store, basketsProjection, {
      ...defaultRunnerOptions,
      owner: "cli-test",
      log: pino({ level: "silent" }),
    });
    runner.start();
    await appliedAll("baskets", 15);
    await runner.stop();
    // Behind by 4 basket events (and 1 of another stream), the oldest 90 s old; the rest older.
    const late: RecordedEvent[] = [...(await appendBasket(1)).events, ...(await appendBasket(1)).events];
    await store.append("other-2", [{ type: "Noise", data: {} }], "no_stream");
    await sql`update events set recorded_at = now() - interval '10 minutes'`.execute(database.db);
    await sql`update events set recorded_at = now() - interval '90 seconds'
              where global_position = any(${late.map((event) => event.position.toString())}::bigint[])`.execute(
      database.db,
    );
    const applied = await database.db
      .selectFrom("projection_checkpoints")
      .selectAll()
      .where("name", "=", "baskets")
      .executeTakeFirstOrThrow();

    const [json, text, one, oneText] = await Promise.all([
      basket(["projections", "list", "--json"], env),
      basket(["projections", "list"], env),
      basket(["projections", "status", "baskets", "--json"], env),
      basket(["projections", "status", "baskets"], env),
    ]);
    for (const run of [json, text, one, oneText]) expect(run.code).toBe(0);
    const [baskets, popularity] = jsonOf<ProjectionStatus[]>(json.lines);
    expect(baskets).toMatchObject({
      name: "baskets",
      state: "stopped",
      version: { deployed: 1, stored: 1 },
      tables: ["basket_view", "basket_view_lines"],
      checkpoint: applied.checkpoint,
      eventsApplied: 15,
      lag: { events: 4 },
      owner: "cli-test",
      lock: null,
      rebuild: null,
    });
    expect(baskets?.lag.seconds).toBeGreaterThanOrEqual(90);
    expect(baskets?.lag.seconds).toBeLessThan(300); // the CLI takes its time to start on a busy machine
    expect(popularity).toMatchObject({
      name: "product-popularity",
      state: "stopped",
      version: { deployed: 1, stored: null },
      checkpoint: null,
      eventsApplied: 0,
      lag: { events: 19 },
      owner: null,
      lock: null,
    });
    expect(popularity?.lag.seconds).toBeGreaterThanOrEqual(600);
    expect(popularity?.lag.seconds).toBeLessThan(900);
    expect(jsonOf<ProjectionStatus>(one.lines)).toEqual({
      ...baskets,
      lag: { events: 4, seconds: expect.any(Number) },
    });

    expect(listRow(text.text, "NAME")).toEqual([
      "NAME",
      "STATE",
      "DEPLOYED",
      "STORED",
      "CHECKPOINT",
      "APPLIED",
      "LAG",
      "LAG S",
      "OWNER",
      "LOCK",
    ]);
    const row = listRow(text.text, "baskets");
    expect(row?.slice(0, 7)).toEqual(["baskets", "stopped", "1", "1", applied.checkpoint, "15", "4"]);
    expect(Number(row?.[7])).toBeGreaterThanOrEqual(90);
    expect(row?.slice(8)).toEqual(["cli-test", "free"]);
    expect(listRow(text.text, "product-popularity")?.slice(0, 7)).toEqual([
      "product-popularity",
      "stopped",
      "1",
      "-",
      "-",
      "0",
      "19",
    ]);
    expect(oneText.text).toMatch(/^baskets\n {2}state: +stopped\n {2}version: +deployed 1, stored 1\n/);
    const lagLine = /\n {2}lag: +4 events, (\d+\.\d) s\n/.exec(oneText.text);
    expect(Number(lagLine?.[1])).toBeGreaterThanOrEqual(90);
    expect(Number(lagLine?.[1])).toBeLessThan(300);
    expect(oneText.text).toContain(`checkpoint: ${applied.checkpoint} (position ${applied.position})`);
  });

  it("shows who holds each lock, a rebuild in progress or interrupted, and a version waiting for a rebuild", async () => {
    const runner = new ProjectionRunner(database, store, productPopularityProjection, {
      ...defaultRunnerOptions,
      owner: "popularity-runner",
      log: pino({ level: "silent" }),
    });
    runner.start();
    await appliedAll("product-popularity", 19);
    // A rebuild of baskets that got 5 events in, holding its lock from a session of its own.
    const rebuilder = new pg.Client({ connectionString: database.url as string });
    await rebuilder.connect();
    try {
      const { rows } = await rebuilder.query<{ pid: number }>(
        "select pg_backend_pid() as pid, pg_advisory_lock(hashtext('projection-rebuild:baskets'))",
      );
      const fifth = (await store.readAll({ limit: 5, streamPrefix: "basket-" })).events.at(
        -1,
      ) as RecordedEvent;
      await database.db
        .insertInto("projection_checkpoints")
        .values({
          name: "baskets@rebuild",
          version: 1,
          checkpoint: fifth.checkpoint,
          position: fifth.position,
          events_applied: 5,
          owner: "rebuild-host:1",
        })
        .execute();

      const during = jsonOf<ProjectionStatus[]>(
        (await basket(["projections", "status", "--json"], env)).lines,
      );
      expect(during[0]).toMatchObject({
        name: "baskets",
        state: "rebuilding",
        lock: null,
        rebuild: {
          shadowSchema: "rebuild_baskets",
          version: 1,
          checkpoint: fifth.checkpoint,
          eventsApplied: 5,
          lag: { events: 14 },
          owner: "rebuild-host:1",
          lock: { pid: rows[0]?.pid },
        },
      });
      expect(during[1]).toMatchObject({
        name: "product-popularity",
        state: "running",
        owner: "popularity-runner",
        lag: { events: 0, seconds: 0 },
        version: { deployed: 1, stored: 1 },
      });
      expect(during[1]?.lock?.pid).toEqual(expect.any(Number));
      expect(during[1]?.lock?.pid).not.toBe(rows[0]?.pid);
      const list = await basket(["projections", "list"], env);
      expect(listRow(list.text, "product-popularity")?.slice(-2)).toEqual([
        "popularity-runner",
        `held (pid ${during[1]?.lock?.pid})`,
      ]);
      expect(list.text).toContain(
        `baskets: rebuilding (database session ${rows[0]?.pid}, rebuild-host:1): version 1 in rebuild_baskets, 5 events applied, 14 to go`,
      );
    } finally {
      await rebuilder.end();
      await runner.stop();
    }

    await database.db
      .updateTable("projection_checkpoints")
      .set({ version: 2 })
      .where("name", "=", "baskets")
      .execute();
    const after = jsonOf<ProjectionStatus[]>((await basket(["projections", "status", "--json"], env)).lines);
    expect(after.map((status) => [status.name, status.state, status.lock])).toEqual([
      ["baskets", "needs_rebuild", null],
      ["product-popularity", "stopped", null],
      ["catalog", "stopped", null],
      // The event relay runs only with NATS: listed, stopped.
      ["event-relay", "stopped", null],
    ]);
    expect(after[0]?.rebuild?.lock).toBeNull();
    const text = await basket(["projections", "status", "baskets"], env);
    expect(text.text).toContain("version:    deployed 1, stored 2 — rebuild to deploy it");
    expect(text.text).toContain(
      "rebuild:    interrupted: version 1 in rebuild_baskets, 5 events applied, 14 to go; `basket projections rebuild baskets` resumes it",
    );
    await database.db
      .updateTable("projection_checkpoints")
      .set({ version: 1 })
      .where("name", "=", "baskets")
      .execute();
    await database.db.deleteFrom("projection_checkpoints").where("name", "=", "baskets@rebuild").execute();
  });

  it("rebuilds: interrupted (SIGINT, then SIGKILL) it resumes where it stopped; --dry-run changes nothing; the result is exact", async () => {
    const big = await openTestDatabase("postgres");
    const bigStore = new PostgresEventStore(big);
    const bigEnv = { DATABASE_URL: big.url as string, ...operatorEnv };
    try {
      await appendBaskets(bigStore, 3_000, 20, 16); // 60,000 events
      const rebuildRow = () =>
        big.db
          .selectFrom("projection_checkpoints")
          .selectAll()
          .where("name", "=", "baskets@rebuild")
          .executeTakeFirst();
      /** A progress line past `done` events. */
      const building = (done: number) => (line: Record<string, unknown>) => {
        const match = /^rebuild baskets: building (\d+)\/60000 events/.exec(String(line.msg));
        return match !== null && Number(match[1]) > done;
      };

      // Interrupted politely: it stops after the batch in flight and says how to go on.
      const first = startCli(["projections", "rebuild", "baskets", "--batch-size", "100"], bigEnv);
      await first.waitFor(building(0));
      first.child.kill("SIGINT");
      expect(await first.exited).toBe(130);
      const stopped = await rebuildRow();
      const stoppedAt = Number(stopped?.events_applied);
      expect(stoppedAt).toBeGreaterThan(0);
      expect(stoppedAt).toBeLessThan(60_000);
      await expect
        .poll(() => first.lines.map((line) => line.msg))
        .toContain(
          `basket: Rebuild of baskets interrupted after ${stoppedAt} of 60000 events; its shadow tables are kept: run the rebuild again to resume`,
        );

      // Killed outright: the last committed batch is where the next run resumes.
      const second = startCli(["projections", "rebuild", "baskets", "--batch-size", "100"], bigEnv);
      await second.waitFor((line) => String(line.msg).includes(`resume point:   after ${stoppedAt} events`));
      await second.waitFor(building(stoppedAt));
      second.child.kill("SIGKILL");
      await second.exited;
      const killed = await rebuildRow();
      const killedAt = Number(killed?.events_applied);
      expect(killedAt).toBeGreaterThan(stoppedAt);
      expect(killedAt).toBeLessThan(60_000);
      expect(await rebuildSchemas(big)).toEqual(["rebuild_baskets"]);

      const [dryJson, dryText] = await Promise.all([
        basket(["projections", "rebuild", "baskets", "--dry-run", "--json"], bigEnv),
        basket(["projections", "rebuild", "baskets", "--dry-run"], bigEnv),
      ]);
      expect(dryJson.code).toBe(0);
      expect(jsonOf(dryJson.lines)).toMatchObject({
        projection: "baskets",
        shadowSchema: "rebuild_baskets",
        start: { kind: "resume", eventsApplied: killedAt, checkpoint: killed?.checkpoint },
        eventsToProcess: 60_000 - killedAt,
        eventsInLog: 60_000,
      });
      expect(dryText.text).toContain(
        "dry run — nothing changed. rebuild of baskets, version 1 (stored: none yet)",
      );
      expect(dryText.text).toContain(
        `resume point:   after ${killedAt} events, checkpoint ${killed?.checkpoint}`,
      );
      expect(await rebuildRow()).toEqual(killed);

      const last = await basket(
        ["projections", "rebuild", "baskets", "--json", "--batch-size", "2000"],
        bigEnv,
      );
      expect(last.code).toBe(0);
      expect(jsonOf(last.lines)).toMatchObject({
        plan: { start: { kind: "resume", eventsApplied: killedAt } },
        eventsApplied: 60_000 - killedAt,
        totalApplied: 60_000,
      });
      expect(await rebuildSchemas(big)).toEqual([]);
      expect(await rebuildRow()).toBeUndefined();
      expect(
        await big.db
          .selectFrom("projection_checkpoints")
          .select(["version", "events_applied"])
          .where("name", "=", "baskets")
          .executeTakeFirst(),
      ).toEqual({ version: 1, events_applied: "60000" });
      const { rows } = await sql<{ baskets: string; items: string; lines: string }>`
        select count(*) as baskets, sum(item_count) as items,
               (select count(*) from basket_view_lines) as lines
        from basket_view`.execute(big.db);
      expect(rows[0]).toEqual({ baskets: "3000", items: String(3000 * 19), lines: String(3000 * 12) });
      for (const basketId of (await allBasketIds(big)).slice(0, 100))
        expect(await readModelBasket(big, basketId)).toEqual(await foldedBasket(bigStore, basketId));
    } finally {
      await bigStore.close();
    }
  });
});
