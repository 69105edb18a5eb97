import { pino } from "pino";
import { v7 as uuidv7 } from "uuid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { basketStream } from "../../src/aggregates/basket/index.js";
import { AsyncCommands } from "../../src/commands/async/async-commands.js";
import { InMemoryCommandStatusStore } from "../../src/commands/async/command-status.js";
import { InProcessCommandQueue } from "../../src/commands/async/in-process-command-queue.js";
import { QueuedCommandProcessor } from "../../src/commands/async/queued-command-processor.js";
import { BasketCommandHandler } from "../../src/commands/basket-command-handler.js";
import { demoProducts } from "../../src/commands/catalog/demo-catalog.js";
import { loadConfig } from "../../src/config/config.js";
import { PostgresEventStore } from "../../src/eventstore/postgres/postgres-event-store.js";
import { type Running, serve } from "../../src/serve/serve.js";
import { createBasket } from "../support/baskets.js";
import { openTestDatabase } from "../support/databases.js";

const log = pino({ level: "silent" });

describe("Prefer: respond-async without NATS (the embedded default)", () => {
  let running: Running;
  beforeAll(async () => {
    running = await serve("all", loadConfig({ PGLITE_DATA_DIR: "memory://", PORT: "0" }), log);
  }, 60_000);
  afterAll(() => running?.stop());

  it("answers 202, and the status follows the command to its outcome", async () => {
    const url = running.url as string;
    // The embedded default lists the demo catalog in its empty one.
    const tea = demoProducts.find((product) => product.sku === "TEA-001");
    const { id, auth } = await createBasket(url);
    const send = (basketId: string) =>
      fetch(`${url}/baskets/${basketId}/items`, {
        method: "POST",
        headers: { "content-type": "application/json", prefer: "respond-async", ...auth },
        body: JSON.stringify({ sku: "TEA-001", quantity: 2 }),
      });
    const poll = async (location: string) => {
      for (let i = 0; i < 400; i++) {
        const body = (await (await fetch(`${url}${location}`, { headers: auth })).json()) as {
          status: string;
        };
        if (body.status === "succeeded" || body.status === "failed") return body;
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      throw new Error("not finished");
    };
    const accepted = await send(id);
    expect(accepted.status).toBe(202);
    expect(await poll(accepted.headers.get("location") as string)).toMatchObject({
      status: "succeeded",
      revision: 1,
      basket: { total: 2 * (tea?.prices.EUR as number) },
    });
    // A token opens its own basket only: another basket's command is refused before it is queued.
    expect((await send(uuidv7())).status).toBe(403);
    const refused = await fetch(`${url}/baskets/${id}/items/absent`, {
      method: "PUT",
      headers: { "content-type": "application/json", prefer: "respond-async", ...auth },
      body: JSON.stringify({ quantity: 2 }),
    });
    expect(refused.status).toBe(202);
    expect(await poll(refused.headers.get("location") as string)).toMatchObject({
      status: "failed",
      problem: { status: 409, code: "item_not_in_basket" },
    });
  });
});

describe("the in-process queue", () => {
  it("retries a command that keeps failing, then keeps it among its dead letters", async () => {
    const database = await openTestDatabase("pglite");
    const store = new PostgresEventStore(database);
    const statuses = new InMemoryCommandStatusStore(60_000);
    const handler = new BasketCommandHandler(store);
    const queue = new InProcessCommandQueue(
      new QueuedCommandProcessor(handler, statuses, { maxDeliveries: 3, retryDelayMs: 20 }, log),
      4,
    );
    try {
      const basketId = uuidv7();
      await store.append(basketStream(basketId), [{ type: "BasketTeleported", data: {} }], "no_stream");
      const commandId = uuidv7();
      const started = Date.now();
      await new AsyncCommands(queue, statuses).submit({
        commandId,
        basketId,
        command: { type: "ClearBasket", data: {} },
      });
      await expect.poll(() => queue.deadLetters.length, { timeout: 10_000 }).toBe(1);
      // Waited 20 ms, then 40 ms, between the three deliveries.
      expect(Date.now() - started).toBeGreaterThanOrEqual(60);
      expect(queue.deadLetters[0]).toMatchObject({ commandId, basketId, deliveries: 3, type: "ClearBasket" });
      expect(await statuses.get(commandId)).toMatchObject({
        state: "failed",
        deadLettered: true,
        deliveries: 3,
        outcome: { code: "gave_up" },
      });
    } finally {
      await queue.stop();
      await store.close();
    }
  });
});
