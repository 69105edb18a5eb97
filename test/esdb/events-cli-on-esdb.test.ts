import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { NewEvent, RecordedEvent } from "../../src/eventstore/port.js";
import { PostgresEventStore } from "../../src/eventstore/postgres/postgres-event-store.js";
import { operatorEnv } from "../support/baskets.js";
import { lines, runCli } from "../support/cli.js";
import { openTestDatabase } from "../support/databases.js";
import { startTestEsdb, type TestEsdb } from "../support/esdb.js";
import { readEverything } from "../support/event-streams.js";

/** `basket events …` with EVENT_STORE=esdb: through the port, the range checks through the store. */
describe("basket events on EventStoreDB (the CLI)", { timeout: 120_000 }, () => {
  let esdb: TestEsdb;
  const dir = mkdtempSync(join(tmpdir(), "basket-esdb-"));
  beforeAll(async () => {
    esdb = await startTestEsdb();
  });
  afterAll(async () => {
    await esdb?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("moves a shop from PostgreSQL into EventStoreDB in the file's order, and reads it there", async () => {
    // The source: two streams written in turns (so the log interleaves them), odd data, a given
    // time. The basket's as stored over time: an add from before the catalog (ItemAdded v1), then
    // one the catalog priced (v2) — an import takes every version.
    const source = await openTestDatabase("postgres");
    const from = new PostgresEventStore(source);
    const basketId = randomUUID();
    const [a, b] = [`basket-${basketId}`, `other-${randomUUID()}`];
    const life: NewEvent[] = [
      { type: "BasketCreated", data: { basketId, visitorId: null, currency: "EUR" } },
      { type: "ItemAdded", data: { sku: "tea", name: "Green tea", unitPrice: 450, quantity: 1 } },
      {
        type: "ItemAdded",
        data: { sku: "tea", name: "Green tea", unitPrice: 520, quantity: 1, productRevision: 1 },
        metadata: { schemaVersion: 2 },
      },
    ];
    for (const [i, event] of life.entries()) {
      await from.append(a, [{ ...event, metadata: { correlationId: `r-${i}`, ...event.metadata } }], "any");
      await from.append(b, [{ type: "Noted", data: { i }, metadata: { commandId: `c-${i}` } }], "any");
    }
    const odd = { text: 'ünïcødé \u2028 "q" \\ 🧺', big: 2 ** 53 - 1, list: [null, {}] };
    const at = new Date("2001-02-03T04:05:06.789Z");
    await from.append(
      b,
      [
        { type: "Odd", data: odd },
        { type: "Dated", data: {}, recordedAt: at },
      ],
      2n,
    );
    const written = await readEverything(from);
    const file = join(dir, "shop.ndjson");
    const exported = await runCli(["events", "export", "--out", file], {
      DATABASE_URL: source.url as string,
    });
    expect(exported.code, exported.stderr).toBe(0);

    const env = {
      EVENT_STORE: "esdb",
      ESDB_URL: esdb.url,
      ESDB_NAMESPACE: esdb.namespace,
      DATABASE_URL: source.url as string,
      ...operatorEnv,
    };
    const store = esdb.openStore();
    try {
      const imported = await runCli(["events", "import", file], env);
      expect(imported.code, imported.stderr).toBe(0);
      expect(imported.stdout).toBe(`Imported 8 events from ${file}.\n`);
      const portable = ({ position: _p, checkpoint: _c, ...event }: RecordedEvent) => event;
      const stored = await readEverything(store);
      expect(stored.map(portable)).toEqual(written.map(portable));

      const history = await runCli(["events", "history", basketId, "--json"], env);
      expect(history.code, history.stderr).toBe(0);
      expect(JSON.parse(history.stdout).map((event: { revision: string }) => event.revision)).toEqual([
        "0",
        "1",
        "2",
      ]);

      // A range up to one of EventStoreDB's checkpoints, checked before anything is written.
      const until = stored[3]?.checkpoint as string;
      const part = join(dir, "part.ndjson");
      const ranged = await runCli(["events", "export", "--until", until, "--out", part], env);
      expect(ranged.code, ranged.stderr).toBe(0);
      expect(lines(readFileSync(part, "utf8")).map((line) => line.checkpoint)).toEqual(
        stored.slice(0, 4).map((event) => event.checkpoint),
      );
      // An event's checkpoint, but of a stream the range leaves out: refused before anything is written.
      const other = stored.find((event) => event.stream === b)?.checkpoint as string;
      const refused = await runCli(
        ["events", "export", "--stream-prefix", "basket-", "--until", other, "--out", part],
        env,
      );
      expect(refused.code).toBe(1);
      expect(refused.stderr).toBe(
        `basket: --until ${other} is not the checkpoint of an event of a stream starting with basket- after the start of the log.\n`,
      );
    } finally {
      await store.close();
      await from.close();
    }
  });
});
