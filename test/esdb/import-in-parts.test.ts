import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { importEvents } from "../../src/cli/events/import-events.js";
import type { EsdbEventStore } from "../../src/eventstore/esdb/esdb-event-store.js";
import { startTestEsdb, type TestEsdb } from "../support/esdb.js";

/** `events import` into EventStoreDB, whose appends take 1 MiB at most. On the double, or the server of ESDB_URL. */
describe("an import into EventStoreDB of a stream run larger than one append takes", () => {
  let esdb: TestEsdb;
  let store: EsdbEventStore;
  beforeAll(async () => {
    esdb = await startTestEsdb();
    store = esdb.openStore();
  });
  afterAll(async () => {
    await store?.close();
    await esdb?.stop();
  });

  const lines = (stream: string, count: number, bytes: number) =>
    Array.from({ length: count }, (_, i) =>
      JSON.stringify({
        id: randomUUID(),
        stream,
        revision: String(i),
        type: "Noted",
        data: { i, text: "x".repeat(bytes) },
        metadata: {},
        recordedAt: new Date(Date.UTC(2020, 0, 1, 0, 0, i)).toISOString(),
      }),
    );
  const from = async function* (texts: string[]) {
    yield* texts;
  };
  const quiet = { add: () => {}, stop: () => {} };

  it("appends it in parts, in order", async () => {
    const stream = `big-${randomUUID()}`;
    // 500 lines of 3 kB: 1.5 MB in one run of one stream.
    const result = await importEvents(store, from(lines(stream, 500, 3_000)), {
      intoNonEmpty: true,
      appendsInOrder: false,
      progress: quiet,
    });
    expect(result.events).toBe(500);
    const stored = await store.readStream(stream);
    expect(stored.map((event) => (event.data as { i: number }).i)).toEqual(
      Array.from({ length: 500 }, (_, i) => i),
    );
  });

  it("stops at an event too large on its own, saying how far it got", async () => {
    const stream = `big-${randomUUID()}`;
    const texts = [...lines(stream, 3, 10), ...lines(stream, 4, 1_100_000).slice(3)];
    await expect(
      importEvents(store, from(texts), { intoNonEmpty: true, appendsInOrder: false, progress: quiet }),
    ).rejects.toThrow(/too large .* 3 events were imported/);
    expect(await store.readStream(stream)).toHaveLength(3);
  });
});
