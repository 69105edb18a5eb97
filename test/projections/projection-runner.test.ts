import { pino } from "pino";
import { v7 as uuidv7 } from "uuid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BasketCommand, basketStreamPrefix } from "../../src/aggregates/basket/index.js";
import { BasketCommandHandler } from "../../src/commands/basket-command-handler.js";
import type { Database } from "../../src/db/database.js";
import type { EventStore, RecordedEvent } from "../../src/eventstore/port.js";
import { basketsProjection } from "../../src/projections/baskets/baskets-projection.js";
import { productPopularityProjection } from "../../src/projections/product-popularity/product-popularity-projection.js";
import type { Projection } from "../../src/projections/projection.js";
import {
  defaultRunnerOptions,
  ProjectionRunner,
  type RunnerOptions,
} from "../../src/projections/projection-runner.js";
import { seedCatalog } from "../support/catalog.js";
import { openTestStore, storeBackends, type TestStore } from "../support/event-stores.js";
import { expectBasketsAreFolds, projectionCaughtUp, readModelBasket } from "../support/read-model.js";

const log = pino({ level: "silent" });

describe.each(storeBackends)("the projection runner on %s", (backend) => {
  let opened: TestStore;
  let database: Database;
  let store: EventStore;
  let handler: BasketCommandHandler;
  const runners: ProjectionRunner[] = [];

  beforeAll(async () => {
    opened = await openTestStore(backend);
    ({ database, store } = opened);
    handler = new BasketCommandHandler(store);
    await seedCatalog(store, ["runner-0", "runner-1", "runner-2"]);
  });
  afterAll(async () => {
    for (const runner of runners) await runner.stop();
    await opened?.close();
  });

  const runner = (projection: Projection, options: Partial<RunnerOptions> = {}) => {
    const started = new ProjectionRunner(database, store, projection, {
      ...defaultRunnerOptions,
      owner: `test-${runners.length}`,
      standbyRetryMs: 100,
      log,
      ...options,
    });
    runners.push(started);
    started.start();
    return started;
  };
  const send = async (basketId: string, command: BasketCommand) => {
    const outcome = await handler.handle({ commandId: uuidv7(), basketId, command });
    if (!outcome.ok) throw new Error(outcome.code);
  };
  const fillBaskets = async (count: number, itemsEach: number) => {
    const ids = Array.from({ length: count }, () => uuidv7());
    for (const basketId of ids) {
      await send(basketId, { type: "CreateBasket", data: { basketId } });
      for (let i = 0; i < itemsEach; i++) {
        await send(basketId, { type: "AddItem", data: { sku: `runner-${i}`, quantity: 1 } });
      }
    }
    return ids;
  };
  const checkpointOf = (name: string) =>
    database.db
      .selectFrom("projection_checkpoints")
      .selectAll()
      .where("name", "=", name)
      .executeTakeFirstOrThrow();

  it("wakes on a new event at once, without waiting for its poll", async () => {
    const active = runner(basketsProjection, { pollMs: 60_000 });
    await expect.poll(() => active.state).toBe("running");
    const [basketId] = await fillBaskets(1, 1);
    const started = Date.now();
    await expect.poll(() => readModelBasket(database, basketId as string), { interval: 5 }).toBeDefined();
    expect(Date.now() - started).toBeLessThan(2_000);
    await active.stop();
  });

  it("applies nothing twice and skips nothing when it dies between a batch and its commit", async () => {
    const basketIds = await fillBaskets(8, 3); // 32 events
    let batches = 0;
    let checkpointBeforeCrash: string | null = null;
    const crashing = runner(productPopularityProjection, {
      batchSize: 5,
      beforeCommit: async () => {
        // From its third batch on, it dies every time just before committing.
        if (++batches < 3) return;
        if (batches === 3) checkpointBeforeCrash = (await checkpointOf("product-popularity")).checkpoint;
        throw new Error("killed between batch and commit");
      },
    });
    await expect.poll(() => batches, { timeout: 5_000 }).toBeGreaterThanOrEqual(3);
    await crashing.stop();
    expect((await checkpointOf("product-popularity")).checkpoint).toBe(checkpointBeforeCrash);

    runner(productPopularityProjection, { batchSize: 5 });
    await projectionCaughtUp(database, store, "product-popularity");
    const total = await opened.countEvents(basketStreamPrefix);
    expect(Number((await checkpointOf("product-popularity")).events_applied)).toBe(total);
    const added = await database.db
      .selectFrom("product_popularity")
      .select(["sku", "times_added", "quantity_in_open_baskets"])
      .where("sku", "like", "runner-%")
      .orderBy("sku")
      .execute();
    const expectedAdds = (await Promise.all(basketIds.map((id) => store.readStream(`basket-${id}`))))
      .flat()
      .filter((e: RecordedEvent) => e.type === "ItemAdded").length;
    expect(added.reduce((sum, row) => sum + Number(row.times_added), 0)).toBe(expectedAdds + 1); // +1: the first test's basket
  });

  it("runs one active runner of two; the standby takes over when it stops", async () => {
    const first = runner(basketsProjection, { owner: "first" });
    const second = runner(basketsProjection, { owner: "second" });
    await expect.poll(() => [first.state, second.state].sort()).toEqual(["running", "standby"]);
    const [active, standby] = first.state === "running" ? [first, second] : [second, first];

    const before = await fillBaskets(3, 2);
    await projectionCaughtUp(database, store, "baskets");
    expect((await checkpointOf("baskets")).owner).toBe(active === first ? "first" : "second");
    await expectBasketsAreFolds(database, store, before);

    await active.stop();
    await expect.poll(() => standby.state, { timeout: 5_000 }).toBe("running");
    const after = await fillBaskets(3, 2);
    await projectionCaughtUp(database, store, "baskets");
    expect((await checkpointOf("baskets")).owner).toBe(standby === first ? "first" : "second");
    await expectBasketsAreFolds(database, store, [...before, ...after]);
  });

  it("waits for a rebuild when the deployed version is not the stored one", async () => {
    const changed = { ...basketsProjection, name: "baskets-v2-test", version: 2 };
    await database.db
      .insertInto("projection_checkpoints")
      .values({ name: changed.name, version: 1 })
      .execute();
    const waiting = runner(changed);
    await expect.poll(() => waiting.state).toBe("needs_rebuild");
    expect((await checkpointOf(changed.name)).checkpoint).toBeNull();
    await waiting.stop();
  });
});
