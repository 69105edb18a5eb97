import { v7 as uuidv7 } from "uuid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { basketStreamPrefix } from "../../src/aggregates/basket/index.js";
import { BasketCommandHandler } from "../../src/commands/basket-command-handler.js";
import type { CommandEnvelope } from "../../src/commands/command.js";
import type { Database } from "../../src/db/database.js";
import { EsdbEventStore } from "../../src/eventstore/esdb/esdb-event-store.js";
import { lagThroughStore } from "../../src/projections/log-lag.js";
import { productPopularityProjection } from "../../src/projections/product-popularity/product-popularity-projection.js";
import { defaultRunnerOptions, ProjectionRunner } from "../../src/projections/projection-runner.js";
import { type EsdbDouble, startEsdbDouble } from "../esdb-double/esdb-double.js";
import { seedCatalog } from "../support/catalog.js";
import { openTestDatabase } from "../support/databases.js";
import { capturedLog } from "../support/log-lines.js";
import { projectionCaughtUp } from "../support/read-model.js";

/** Needs the double: only it can be made to go away and come back on cue. */
describe("a projection on EventStoreDB when the server restarts", () => {
  let double: EsdbDouble;
  let store: EsdbEventStore;
  let database: Database;
  const { log, lines: logged } = capturedLog();

  beforeAll(async () => {
    double = await startEsdbDouble();
    store = EsdbEventStore.connect(double.url);
    await seedCatalog(store, ["restart-a", "restart-b"]);
    database = await openTestDatabase("postgres");
  });
  afterAll(async () => {
    await store?.close();
    await double?.stop();
    await database?.close();
  });

  const handler = () => new BasketCommandHandler(store);
  /** Until the store answers again: the first calls after a restart may find the server still away. */
  const sendSurely = async (commands: BasketCommandHandler, envelope: CommandEnvelope) => {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const outcome = await commands.handle(envelope);
      if (outcome.ok) return outcome;
      if (outcome.code !== "store_unavailable" || Date.now() > deadline) throw new Error(outcome.message);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  const fill = async (commands: BasketCommandHandler, baskets: number) => {
    for (let b = 0; b < baskets; b++) {
      const basketId = uuidv7();
      await sendSurely(commands, {
        commandId: uuidv7(),
        basketId,
        command: { type: "CreateBasket", data: { basketId } },
      });
      for (const sku of ["restart-a", "restart-b"])
        await sendSurely(commands, {
          commandId: uuidv7(),
          basketId,
          command: { type: "AddItem", data: { sku, quantity: 1 } },
        });
    }
  };

  it("resubscribes from its stored checkpoint: nothing skipped, nothing applied twice", async () => {
    const runner = new ProjectionRunner(database, store, productPopularityProjection, {
      ...defaultRunnerOptions,
      batchSize: 4,
      owner: "restart",
      standbyRetryMs: 100,
      log,
    });
    runner.start();
    try {
      await fill(handler(), 3);
      await projectionCaughtUp(database, store, "product-popularity");

      await double.restart();
      // The subscription dropped with the server; the runner said so and follows again.
      await expect
        .poll(() => logged.some((line) => line.msg === "projection runner failed; retrying"), {
          timeout: 10_000,
        })
        .toBe(true);
      await fill(handler(), 3);
      await projectionCaughtUp(database, store, "product-popularity", 20_000);
      await expect.poll(() => runner.state).toBe("running");

      const total = (await lagThroughStore(store)(null, basketStreamPrefix)).events;
      expect(total).toBe(18);
      const row = await database.db
        .selectFrom("projection_checkpoints")
        .selectAll()
        .where("name", "=", "product-popularity")
        .executeTakeFirstOrThrow();
      expect(Number(row.events_applied)).toBe(total);
      const popularity = await database.db
        .selectFrom("product_popularity")
        .select(["sku", "times_added", "quantity_in_open_baskets"])
        .where("sku", "like", "restart-%")
        .orderBy("sku")
        .execute();
      expect(popularity).toEqual([
        { sku: "restart-a", times_added: "6", quantity_in_open_baskets: "6" },
        { sku: "restart-b", times_added: "6", quantity_in_open_baskets: "6" },
      ]);
    } finally {
      await runner.stop();
    }
  });

  it("keeps telling appends after the restart", async () => {
    let calls = 0;
    const stop = await store.onAppended(() => calls++);
    try {
      await double.restart();
      // Once on subscribing again: it may have missed events meanwhile.
      await expect.poll(() => calls, { timeout: 10_000 }).toBe(1);
      const commands = handler();
      const basketId = uuidv7();
      await sendSurely(commands, {
        commandId: uuidv7(),
        basketId,
        command: { type: "CreateBasket", data: { basketId } },
      });
      await expect.poll(() => calls, { timeout: 10_000 }).toBe(2);
    } finally {
      await stop();
    }
  });
});
