import { createReadStream, readFileSync } from "node:fs";
import { pino } from "pino";
import { v7 as uuidv7 } from "uuid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { basketStream, toBasketView } from "../../src/aggregates/basket/index.js";
import { importEvents } from "../../src/cli/events/import-events.js";
import { readLines } from "../../src/cli/events/lines.js";
import { BasketCommandHandler } from "../../src/commands/basket-command-handler.js";
import { foldRecorded } from "../../src/commands/batch-plan.js";
import { ProductCommandHandler } from "../../src/commands/catalog/product-command-handler.js";
import type { Database } from "../../src/db/database.js";
import type { EventStore } from "../../src/eventstore/port.js";
import { PostgresEventStore } from "../../src/eventstore/postgres/postgres-event-store.js";
import { FeedListeners } from "../../src/live/basket-event-feed.js";
import { followBasket } from "../../src/live/basket-states.js";
import { basketsProjection } from "../../src/projections/baskets/baskets-projection.js";
import { defaultRunnerOptions, ProjectionRunner } from "../../src/projections/projection-runner.js";
import { rebuildProjection } from "../../src/projections/rebuild/rebuild-projection.js";
import { BasketQueries } from "../../src/queries/basket-queries.js";
import { openTestDatabase } from "../support/databases.js";
import { openTestStore, type TestStore } from "../support/event-stores.js";
import { projectionCaughtUp } from "../support/read-model.js";

/**
 * Events stored before schema versions (ItemAdded v1: the client's price, no product revision),
 * as an export of that time holds them (test/fixtures/events-v1). They are never rewritten: every
 * read path reads them through the upcasters, and they must come to the same baskets as then.
 */
const fixture = new URL("../fixtures/events-v1/", import.meta.url);
const expected = JSON.parse(readFileSync(new URL("baskets.json", fixture), "utf8")) as {
  id: string;
  revision: number;
  lines: unknown[];
  status: string;
  total: number;
}[];
const silent = { add() {}, stop() {} };
const withoutTimes = <T extends { createdAt?: unknown; updatedAt?: unknown }>({
  createdAt,
  updatedAt,
  ...rest
}: T) => rest;

const backends = ["postgres", "pglite", "esdb"] as const;

describe.each(backends)("events stored before schema versions, on %s", (backend) => {
  let database: Database;
  let store: EventStore;
  let opened: TestStore | undefined;
  beforeAll(async () => {
    if (backend === "pglite") {
      database = await openTestDatabase("pglite");
      store = new PostgresEventStore(database);
    } else {
      opened = await openTestStore(backend);
      database = opened.database;
      store = opened.store;
    }
    const imported = await importEvents(
      store,
      readLines(createReadStream(new URL("events.ndjson", fixture))),
      {
        intoNonEmpty: false,
        appendsInOrder: backend !== "esdb",
        progress: silent,
      },
    );
    expect(imported.events).toBe(20);
  });
  afterAll(async () => {
    if (opened) await opened.close();
    else await store?.close();
  });

  it("are exported as stored: no schema version is added to them", async () => {
    const [first] = await store.readStream(basketStream(expected[0]?.id as string));
    expect(first?.metadata).not.toHaveProperty("schemaVersion");
  });

  it("fold, as the worker folds them, into the same baskets as then", async () => {
    for (const basket of expected) {
      const folded = foldRecorded(
        { state: { status: "none" }, revision: -1n, commands: new Map() },
        await store.readStream(basketStream(basket.id)),
      );
      const { revision, ...view } = basket;
      expect({ ...toBasketView(folded.state), revision: Number(folded.revision) }).toEqual({
        ...view,
        revision,
      });
    }
  });

  it("project into the same read model, and rebuild into it again", async () => {
    const runner = new ProjectionRunner(database, store, basketsProjection, {
      ...defaultRunnerOptions,
      pollMs: 50,
      owner: "stored-versions-test",
      log: pino({ level: "silent" }),
    });
    runner.start();
    try {
      await projectionCaughtUp(database, store, basketsProjection.name);
    } finally {
      await runner.stop();
    }
    const queries = new BasketQueries(database.db);
    for (const basket of expected)
      expect(withoutTimes((await queries.getBasket(basket.id)) ?? {})).toEqual(basket);

    await rebuildProjection(database, basketsProjection, {
      owner: "stored-versions-test",
      batchSize: 7,
      ...(backend === "esdb" ? { eventStore: store } : {}),
    });
    for (const basket of expected)
      expect(withoutTimes((await queries.getBasket(basket.id)) ?? {})).toEqual(basket);
  });

  it("are followed live from the same states", async () => {
    const stop = new AbortController();
    for (const basket of expected) {
      const states = await followBasket(store, new FeedListeners(), basket.id, undefined, stop.signal);
      const first = await states?.next();
      const { revision, ...view } = basket;
      expect({ ...first?.value?.basket, revision: Number(first?.value?.revision) }).toEqual({
        ...view,
        revision,
      });
      await states?.return(undefined);
    }
    stop.abort();
  });

  it("take new commands: a line priced by the client is repriced from the catalog at checkout", async () => {
    const open = expected.find((basket) => basket.status === "open" && basket.lines.length > 0);
    if (!open) throw new Error("the fixture has an open basket with lines");
    const catalog = new ProductCommandHandler(store);
    // Today's catalog: the tea the fixture priced 480 costs 500 now.
    for (const [sku, price] of [
      ["TEA-001", 500],
      ["SPOON-4", 199],
    ] as const)
      await catalog.handle({ type: "PutProduct", data: { sku, name: `Now ${sku}`, prices: { EUR: price } } });
    const handler = new BasketCommandHandler(store);
    const checkOut = () =>
      handler.handle({ commandId: uuidv7(), basketId: open.id, command: { type: "CheckOut", data: {} } });
    const refused = await checkOut();
    expect(refused).toMatchObject({
      ok: false,
      code: "prices_changed",
      changes: [{ sku: "TEA-001", was: 480, now: 500, reason: "repriced" }],
    });
    expect(await checkOut()).toMatchObject({ ok: true, basket: { status: "checked_out", total: 5 * 500 } });
  });
});
