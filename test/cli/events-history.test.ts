import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { basketStream } from "../../src/aggregates/basket/index.js";
import { basketAt } from "../../src/cli/events/time-travel.js";
import type { Database } from "../../src/db/database.js";
import type { NewEvent, RecordedEvent } from "../../src/eventstore/port.js";
import { PostgresEventStore } from "../../src/eventstore/postgres/postgres-event-store.js";
import { runCli } from "../support/cli.js";
import { openTestDatabase } from "../support/databases.js";

/** One basket whose events were recorded a minute apart, from 12:00 on 31 January 2025. */
const minute = (n: number, seconds = 0) => new Date(Date.UTC(2025, 0, 31, 12, n, seconds));
const basketId = randomUUID();
/**
 * As stored: the first adds from before the catalog (ItemAdded v1, no schema version: read
 * through the upcaster), the last one priced by the catalog (v2, with the product's revision).
 */
const life: NewEvent[] = [
  { type: "BasketCreated", data: { basketId, visitorId: "v-42", currency: "EUR" } },
  { type: "ItemAdded", data: { sku: "TEA-001", name: "Green tea", unitPrice: 450, quantity: 2 } },
  { type: "ItemAdded", data: { sku: "MUG-002", name: "Stoneware mug", unitPrice: 1290, quantity: 1 } },
  { type: "ItemQuantityChanged", data: { sku: "TEA-001", quantity: 3 } },
  {
    type: "ItemAdded",
    data: { sku: "TEA-001", name: "Green tea", unitPrice: 500, quantity: 1, productRevision: 1 },
    metadata: { schemaVersion: 2 },
  },
  { type: "ItemRemoved", data: { sku: "MUG-002" } },
  { type: "BasketCheckedOut", data: { itemCount: 4, total: 2000 } },
];

describe("basket events history and state", () => {
  let database: Database & { url?: string };
  let recorded: RecordedEvent[];
  let env: Record<string, string>;

  beforeAll(async () => {
    database = await openTestDatabase("postgres");
    const store = new PostgresEventStore(database);
    for (const [i, event] of life.entries()) {
      await store.append(
        basketStream(basketId),
        [{ ...event, recordedAt: minute(i) }],
        i === 0 ? "no_stream" : BigInt(i - 1),
      );
    }
    recorded = await store.readStream(basketStream(basketId));
    env = { DATABASE_URL: database.url as string };
  });
  afterAll(() => database?.close());

  it("prints the history as a table with a summary per event", async () => {
    const run = await runCli(["events", "history", basketId], env);
    expect(run).toMatchObject({ code: 0, stderr: "" });
    const rows = run.stdout
      .trimEnd()
      .split("\n")
      .map((line) => line.trim().split(/ {2,}/));
    expect(rows).toEqual([
      ["REV", "RECORDED AT", "TYPE", "SUMMARY"],
      ["0", "2025-01-31T12:00:00.000Z", "BasketCreated", "created in EUR for visitor v-42"],
      ["1", "2025-01-31T12:01:00.000Z", "ItemAdded", "added 2 × TEA-001 at 4.50 (Green tea)"],
      ["2", "2025-01-31T12:02:00.000Z", "ItemAdded", "added 1 × MUG-002 at 12.90 (Stoneware mug)"],
      ["3", "2025-01-31T12:03:00.000Z", "ItemQuantityChanged", "quantity of TEA-001 → 3 (was 2)"],
      [
        "4",
        "2025-01-31T12:04:00.000Z",
        "ItemAdded",
        "added 1 × TEA-001 at 5.00 (Green tea, catalog revision 1), line now 4",
      ],
      ["5", "2025-01-31T12:05:00.000Z", "ItemRemoved", "removed MUG-002 (was 1)"],
      ["6", "2025-01-31T12:06:00.000Z", "BasketCheckedOut", "checked out 4 items, total 20.00"],
    ]);
  });

  it("prints the history as one JSON array with 64-bit numbers as strings, each event as stored", async () => {
    const run = await runCli(["events", "history", basketId.toUpperCase(), "--json"], env);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual(
      recorded.map((event, i) => ({
        id: event.id,
        stream: basketStream(basketId),
        revision: String(i),
        position: event.position.toString(),
        type: life[i]?.type,
        data: life[i]?.data,
        metadata: life[i]?.metadata ?? {},
        recordedAt: minute(i).toISOString(),
        checkpoint: event.checkpoint,
      })),
    );
  });

  it("computes the basket at a revision and at a time, inclusive", async () => {
    const [atRevision, atTime] = await Promise.all([
      runCli(["events", "state", basketId, "--at-revision", "3", "--json"], env),
      // 13:05 in +01:00 is 12:05Z, the moment MUG-002 was removed: that event is in.
      runCli(["events", "state", basketId, "--at", "2025-01-31T13:05:00+01:00"], env),
    ]);
    expect(atRevision.code).toBe(0);
    expect(JSON.parse(atRevision.stdout)).toEqual({
      id: basketId,
      visitorId: "v-42",
      status: "open",
      currency: "EUR",
      lines: [
        { sku: "TEA-001", name: "Green tea", unitPrice: 450, quantity: 3, lineTotal: 1350 },
        { sku: "MUG-002", name: "Stoneware mug", unitPrice: 1290, quantity: 1, lineTotal: 1290 },
      ],
      itemCount: 4,
      total: 2640,
      revision: "3",
      recordedAt: minute(3).toISOString(),
    });
    expect(atTime.code).toBe(0);
    expect(atTime.stdout).toBe(
      [
        `basket ${basketId} at revision 5 (recorded 2025-01-31T12:05:00.000Z)`,
        "  status    open",
        "  visitor   v-42",
        "  currency  EUR",
        "  TEA-001  Green tea  4 × 5.00  20.00",
        "  4 items, total 20.00 EUR",
        "",
      ].join("\n"),
    );
  });

  it("fails with a message for a basket that does not exist", async () => {
    const unknown = randomUUID();
    const run = await runCli(["events", "history", unknown], env);
    expect(run).toEqual({
      code: 1,
      stdout: "",
      stderr: `basket: No basket ${unknown}: its stream basket-${unknown} has no events.\n`,
    });
  });

  describe("time travel (basketAt)", () => {
    it("folds up to the first event recorded after the time, a millisecond at a time", () => {
      const at = (time: Date) => basketAt(basketId, recorded, { time });
      expect(at(minute(0))).toMatchObject({ revision: 0n, view: { lines: [], total: 0 } });
      expect(at(new Date(minute(4).getTime() - 1))).toMatchObject({ revision: 3n, view: { total: 2640 } });
      expect(at(minute(4))).toMatchObject({ revision: 4n, view: { total: 3290 } });
      expect(at(new Date("2030-01-01T00:00:00Z"))).toMatchObject({
        revision: 6n,
        view: { status: "checked_out", total: 2000 },
      });
    });

    it("stops at the first later event even when a later revision carries an earlier time", () => {
      // An append's time is when its transaction began; it may have waited for the stream's lock.
      const skewed = recorded.map((event) =>
        event.revision === 3n ? { ...event, recordedAt: minute(4, 30) } : event,
      );
      // Revision 4 (12:04:00) was recorded by 12:04:15, but revision 3 (12:04:30) was not.
      expect(basketAt(basketId, skewed, { time: minute(4, 15) })).toMatchObject({ revision: 2n });
    });

    it("refuses a revision the basket never had and a time before it existed", () => {
      expect(() => basketAt(basketId, recorded, { revision: 7n })).toThrow(
        `Basket ${basketId} has revisions 0 to 6; there is no revision 7.`,
      );
      expect(() => basketAt(basketId, recorded, { time: minute(0, -1) })).toThrow(
        `Basket ${basketId} did not exist yet at 2025-01-31T11:59:59.000Z: its first event was recorded at 2025-01-31T12:00:00.000Z.`,
      );
    });
  });
});
