import { randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runDemo } from "../../src/cli/demo.js";
import { exportEvents } from "../../src/cli/events/export-events.js";
import { importEvents } from "../../src/cli/events/import-events.js";
import { startProgress } from "../../src/cli/events/progress.js";
import { checkRange } from "../../src/cli/events/range-size.js";
import type { LogRange } from "../../src/cli/events/read-range.js";
import { type Database, openDatabase } from "../../src/db/database.js";
import { migrateToLatest } from "../../src/db/migrate.js";
import type { Checkpoint, RecordedEvent } from "../../src/eventstore/port.js";
import { PostgresEventStore } from "../../src/eventstore/postgres/postgres-event-store.js";
import { operatorEnv } from "../support/baskets.js";
import { lines, runCli } from "../support/cli.js";
import { createPostgresDatabase, openTestDatabase } from "../support/databases.js";
import { readEverything } from "../support/event-streams.js";

/** Each CLI process loads the whole service (2–3 s of CPU): room for a machine busy with other tests. */
const slow = { timeout: 60_000 };

// Through the real CLI: the round trip between backends, and how an import stops. Independent
// (each test has stores of its own) and mostly waiting for processes, so they run concurrently.
describe.concurrent("basket events export and import", () => {
  const dir = mkdtempSync(join(tmpdir(), "basket-events-"));
  const drops: (() => Promise<void>)[] = [];
  const postgres = async () => {
    const created = await createPostgresDatabase();
    drops.push(created.drop);
    return created.url;
  };
  afterAll(async () => {
    for (const drop of drops) await drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it(
    "moves a shop from PGlite to PostgreSQL, identical event for event and in the same order",
    slow,
    async ({ expect }) => {
      // A shop on PGlite: the demo's catalog and basket, then two streams written in turns (so the
      // log interleaves them), an append of several events, data and metadata with awkward text, a
      // given time. (Only streams of the service's own prefixes must hold events it can read.)
      const dataDir = join(dir, "pglite");
      const source = await withStore({ dataDir }, async (store) => {
        await runDemo(store, () => {});
        const [a, b] = [`notes-${randomUUID()}`, `other-${randomUUID()}`];
        for (let i = 0; i < 3; i++) {
          await store.append(a, [{ type: "Noted", data: { i } }], i === 0 ? "no_stream" : BigInt(i - 1));
          await store.append(b, [{ type: "Noted", data: { i }, metadata: { commandId: `c-${i}` } }], "any");
        }
        const odd = { text: 'ünïcødé \u2028 "q" \\ 🧺', big: 2 ** 53 - 1, list: [null, {}] };
        const at = new Date("2001-02-03T04:05:06.789Z");
        await store.append(
          b,
          [
            { type: "Odd", data: odd },
            { type: "Dated", data: {}, metadata: { custom: [1, "2"] }, recordedAt: at },
          ],
          2n,
        );
        return readEverything(store);
      });
      // The demo: 4 products listed, 5 basket events; then 3 + 3 + 2.
      expect(source).toHaveLength(17);

      const file = join(dir, "shop.ndjson");
      const exported = await runCli(["events", "export", "--out", file], { PGLITE_DATA_DIR: dataDir });
      expect(exported.code).toBe(0);
      expect(exported.stdout).toBe("");
      expect(exported.stderr).toContain(`Exported 17 events to ${file}.`);
      expect(lines(readFileSync(file, "utf8")).map((line) => line.checkpoint)).toEqual(
        source.map((event) => event.checkpoint),
      );

      const url = await postgres();
      const imported = await runCli(["events", "import", file], {
        DATABASE_URL: url,
        MIGRATE_ON_START: "true",
        ...operatorEnv,
      });
      expect(imported.code).toBe(0);
      expect(imported.stdout).toBe(`Imported 17 events from ${file}.\n`);
      expect(imported.stderr).toMatch(/^import: 17 events in/m);

      const target = await withStore({ url }, readEverything);
      expect(target.map(portable)).toEqual(source.map(portable));
    },
  );

  it(
    "stops at a bad line with its number, writing nothing of its batch; refuses a non-empty store",
    slow,
    async ({ expect }) => {
      const url = await postgres();
      // 600 lines: two events each of 300 baskets. Batches are 500 lines, so line 550 is in the second.
      const good = Array.from({ length: 300 }, () => `basket-${randomUUID()}`).flatMap((stream) => [
        line(stream, 0),
        line(stream, 1),
      ]);
      const file = join(dir, "bad-line.ndjson");
      writeLines(file, [...good.slice(0, 549), '{"id": "truncated', ...good.slice(550)]);

      const bad = await runCli(["events", "import", file], {
        DATABASE_URL: url,
        MIGRATE_ON_START: "true",
        ...operatorEnv,
      });
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(
        /^basket: Line 550: not JSON \(.+\)\. 500 events were imported \(lines 1 to 500\); nothing after line 500 was\.$/m,
      );
      const stored = await withStore({ url }, readEverything);
      expect(stored.map((event) => event.id)).toEqual(good.slice(0, 500).map((text) => JSON.parse(text).id));

      const again = await runCli(["events", "import", file], {
        DATABASE_URL: url,
        MIGRATE_ON_START: "true",
        ...operatorEnv,
      });
      expect(again.code).toBe(1);
      expect(again.stderr).toBe(
        "basket: The event store is not empty: import fills an empty store (--into-non-empty adds to this one).\n",
      );
      expect(await withStore({ url }, async (store) => (await readEverything(store)).length)).toBe(500);
    },
  );
});

// The finer rules, on the functions the subcommands run (no process to start).
describe("export and import rules", () => {
  let database: Database & { url?: string };
  let store: PostgresEventStore;
  const quiet = () => startProgress("test", undefined, { stream: new PassThrough() });
  beforeAll(async () => {
    database = await openTestDatabase("postgres");
    store = new PostgresEventStore(database);
  });
  afterAll(() => store?.close());

  const exported = async (range: LogRange) => {
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on("data", (chunk: Buffer) => chunks.push(chunk));
    await exportEvents(store, range, { stream: out }, quiet());
    return lines(Buffer.concat(chunks).toString("utf8"));
  };
  const importing = (texts: string[]) =>
    importEvents(
      store,
      (async function* () {
        yield* texts;
      })(),
      { intoNonEmpty: true, progress: quiet() },
    );

  it("exports after --from, up to and including --until, of one stream prefix; refuses an --until it lacks", async () => {
    const [basket, other] = [`basket-${randomUUID()}`, `other-${randomUUID()}`];
    for (let i = 0; i < 5; i++) {
      await store.append(basket, [{ type: "Noted", data: { i } }], "any");
      await store.append(other, [{ type: "Noted", data: { i } }], "any");
    }
    const log = (await readEverything(store)).slice(-10);
    const range = { from: log[2]?.checkpoint, until: log[8]?.checkpoint, streamPrefix: "basket-" };
    expect(await checkRange(store, database, range)).toBe(3);
    expect((await exported(range)).map((line) => line.id)).toEqual([log[4]?.id, log[6]?.id, log[8]?.id]);

    // The --until of an event the prefix leaves out is no checkpoint of the range.
    const skipped = { ...range, until: log[7]?.checkpoint };
    await expect(checkRange(store, database, skipped)).rejects.toThrow(
      `--until ${log[7]?.checkpoint} is not the checkpoint of an event of a stream starting with basket- after --from ${log[2]?.checkpoint}.`,
    );
    await expect(exported(skipped)).rejects.toThrow(/is not the checkpoint of an event/);
    // To a file, a failed export leaves nothing behind that could pass for a whole one.
    const file = join(mkdtempSync(join(tmpdir(), "basket-export-")), "failed.ndjson");
    await expect(exportEvents(store, skipped, { file }, quiet())).rejects.toThrow(/is not the checkpoint/);
    expect([existsSync(file), existsSync(`${file}.partial`)]).toEqual([false, false]);
    await exportEvents(store, range, { file }, quiet());
    expect(lines(readFileSync(file, "utf8"))).toEqual(await exported(range));
    rmSync(dirname(file), { recursive: true });
    await expect(checkRange(store, database, { until: "x" as Checkpoint })).rejects.toThrow(
      'Not a checkpoint of this event store: "x"',
    );
  });

  it("continues a stream where the store has it, and refuses a batch that would not, writing none of it", async () => {
    const basket = `basket-${randomUUID()}`;
    await store.append(basket, [{ type: "Noted", data: {} }], "no_stream");
    const fresh = `basket-${randomUUID()}`;
    const revisions = async (stream: string) => (await store.readStream(stream)).map((e) => e.revision);

    await expect(importing([line(fresh, 0), line(basket, 2)])).rejects.toThrow(
      `Line 2: stream ${basket} goes on at revision 2, but the store has it up to revision 0 (the next is 1). Nothing was imported.`,
    );
    await expect(importing([line(fresh, 0), line(basket, 0)])).rejects.toThrow(
      `Line 2: stream ${basket} starts at revision 0, but the store already has it up to revision 0.`,
    );
    await expect(importing([line(fresh, 0), "", line(fresh, 2)])).rejects.toThrow(
      `Line 3: revision 2 of stream ${fresh} does not follow revision 0 (expected 1).`,
    );
    await expect(importing([line(fresh, 3)])).rejects.toThrow(
      `Line 1: stream ${fresh} starts at revision 3, but the store has no such stream (a new stream starts at 0).`,
    );
    const twice = line(fresh, 0);
    const id = JSON.parse(twice).id;
    await expect(importing([twice, twice.replace('"revision":"0"', '"revision":"1"')])).rejects.toThrow(
      `Line 2: id ${id} is already the id of line 1.`,
    );
    await expect(
      importing([line(fresh, 0), JSON.stringify({ ...JSON.parse(line(fresh, 1)), extra: 1 })]),
    ).rejects.toThrow('Line 2: unknown field "extra".');
    expect(await revisions(fresh)).toEqual([]);
    expect(await revisions(basket)).toEqual([0n]);

    // What only the store can see, an id it already holds, fails at write time, naming the line.
    const [existing] = await store.readStream(basket);
    const taken = JSON.stringify({ ...JSON.parse(line(fresh, 0)), id: existing?.id });
    await expect(importing([taken])).rejects.toThrow(
      new RegExp(
        `^Line 1: the store refused stream ${fresh} \\(lines 1 to 1\\): .*an event with id .* is stored already\\. 0 events were imported, 0 of them from this batch \\(lines 1 to 1\\)\\.$`,
      ),
    );

    expect(await importing([line(basket, 1), line(fresh, 0), line(basket, 2), line(fresh, 1)])).toEqual({
      events: 4,
      lines: 4,
    });
    expect(await revisions(basket)).toEqual([0n, 1n, 2n]);
    expect(await revisions(fresh)).toEqual([0n, 1n]);
  });
});

/** What an import must keep; positions and checkpoints are each store's own. */
const portable = ({ position: _p, checkpoint: _c, ...event }: RecordedEvent) => event;

/** A store opened for a moment: PGlite's data folder is then free for the CLI process. */
async function withStore<T>(
  target: { dataDir: string } | { url: string },
  work: (store: PostgresEventStore) => Promise<T>,
): Promise<T> {
  const database = await openDatabase(
    "url" in target ? { kind: "postgres", url: target.url } : { kind: "pglite", dataDir: target.dataDir },
  );
  await migrateToLatest(database);
  const store = new PostgresEventStore(database);
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

/**
 * An export line as another store could have written it — before the catalog: an ItemAdded of
 * schema version 1 (no schemaVersion), which an import takes as stored.
 */
const line = (stream: string, revision: number) =>
  JSON.stringify({
    id: randomUUID(),
    stream,
    revision: String(revision),
    position: "1",
    type: "ItemAdded",
    data: { sku: `sku-${revision}`, name: "Green tea", unitPrice: 450, quantity: 1 },
    metadata: { commandId: randomUUID() },
    recordedAt: new Date(Date.UTC(2024, 5, 1, 0, 0, revision)).toISOString(),
    checkpoint: "1:1",
  });

const writeLines = (file: string, texts: string[]) => writeFileSync(file, `${texts.join("\n")}\n`);
