// Load made inside the test process — commands through a BasketCommandHandler, queries through
// BasketQueries — for tests of what runs beside it (rebuilds, runners). Over HTTP: http-load.ts.
import { v7 as uuidv7 } from "uuid";
import type { BasketCommand } from "../../src/aggregates/basket/index.js";
import type { ProductCommand } from "../../src/aggregates/product/index.js";
import type { BasketCommandHandler } from "../../src/commands/basket-command-handler.js";
import type { ProductCommandHandler } from "../../src/commands/catalog/product-command-handler.js";
import type { Database } from "../../src/db/database.js";
import type { EventStore } from "../../src/eventstore/port.js";
import { BasketQueries } from "../../src/queries/basket-queries.js";
import { pricesOf, seedCatalog, testProductName } from "./catalog.js";

const skus = ["tea", "mug", "pot", "cup", "lid", "jar"];

/** Lists the products the load adds (at the test catalog's default price): before any load. */
export const seedLoadCatalog = (store: Pick<EventStore, "append">) => seedCatalog(store, skus);

/** Runs `work(i)` for i in 0..count-1, `concurrency` at a time. */
async function inParallel(count: number, concurrency: number, work: (i: number) => Promise<unknown>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < count; i = next++) await work(i);
    }),
  );
}

/** A small deterministic random source, so a failing run can be read again. */
function random(seed: number) {
  let state = seed >>> 0 || 1;
  return (below: number) => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) % below;
  };
}

/** Baskets with a few items each, through the command handler (the load's catalog seeded). */
export async function fillBaskets(handler: BasketCommandHandler, count: number, itemsEach: number) {
  const ids = Array.from({ length: count }, () => uuidv7());
  await inParallel(count, 8, async (i) => {
    const basketId = ids[i] as string;
    await handler.handle({
      commandId: uuidv7(),
      basketId,
      command: { type: "CreateBasket", data: { basketId } },
    });
    for (let item = 0; item < itemsEach; item++) {
      await handler.handle({
        commandId: uuidv7(),
        basketId,
        command: {
          type: "AddItem",
          data: { sku: skus[(i + item) % skus.length] as string, quantity: 1 + item },
        },
      });
    }
  });
  return ids;
}

/** A command any basket might get: most succeed, some are refused (which must change nothing). */
function someCommand(next: (below: number) => number): BasketCommand {
  const sku = skus[next(skus.length)] as string;
  switch (next(10)) {
    case 0:
      return { type: "ClearBasket", data: {} };
    case 1:
      return { type: "CheckOut", data: {} };
    case 2:
      return { type: "RemoveItem", data: { sku } };
    case 3:
    case 4:
      return { type: "ChangeItemQuantity", data: { sku, quantity: next(6) } };
    default:
      return { type: "AddItem", data: { sku, quantity: 1 + next(3) } };
  }
}

/**
 * What the operator does to the catalog meanwhile: mostly a new price (a free one now and then),
 * sometimes a delisting, so that adds re-price lines and checkouts meet changed prices and
 * products gone (LineRepriced, LineRemoved); a new price lists a delisted product again.
 */
function someCatalogChange(next: (below: number) => number): ProductCommand {
  const sku = skus[next(skus.length)] as string;
  if (next(4) === 0) return { type: "DelistProduct", data: { sku } };
  return { type: "PutProduct", data: { sku, name: testProductName(sku), prices: pricesOf(100 * next(9)) } };
}

/**
 * Commands keep arriving from a few clients — on existing baskets and new ones — until stopped;
 * with `catalog`, one in twelve is the operator changing a product instead. `stop` resolves with
 * how many were handled.
 */
export function keepCommandsComing(
  handler: BasketCommandHandler,
  basketIds: string[],
  seed: number,
  catalog?: ProductCommandHandler,
) {
  const next = random(seed);
  let stopped = false;
  let handled = 0;
  const ids = [...basketIds];
  const client = async () => {
    while (!stopped) {
      if (catalog && next(12) === 0) {
        const outcome = await catalog.handle(someCatalogChange(next));
        if (!outcome.ok) throw new Error(`The load's catalog change was refused: ${outcome.message}`);
      } else if (ids.length === 0 || next(20) === 0) {
        const basketId = uuidv7();
        ids.push(basketId);
        await handler.handle({
          commandId: uuidv7(),
          basketId,
          command: { type: "CreateBasket", data: { basketId } },
        });
      } else {
        const basketId = ids[next(ids.length)] as string;
        await handler.handle({ commandId: uuidv7(), basketId, command: someCommand(next) });
      }
      handled++;
      // As requests arriving over HTTP would: on PGlite nothing else yields to the event loop.
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  const clients = Array.from({ length: 4 }, client);
  return {
    get handled() {
      return handled;
    },
    async stop() {
      stopped = true;
      await Promise.all(clients);
      return handled;
    },
  };
}

/**
 * Queries keep asking for baskets that exist (and for product popularity) until stopped; every
 * failure and every basket that comes back missing is kept.
 */
export function keepQuerying(database: Database, basketIds: string[]) {
  const queries = new BasketQueries(database.db);
  let stopped = false;
  let answered = 0;
  const failures: unknown[] = [];
  const missing: string[] = [];
  const client = async (n: number) => {
    const next = random(n + 1);
    while (!stopped) {
      try {
        if (next(10) === 0) {
          if ((await queries.popularProducts(10)).length === 0) missing.push("popular products");
        } else {
          const id = basketIds[next(basketIds.length)] as string;
          if ((await queries.getBasket(id)) === undefined) missing.push(id);
        }
        answered++;
      } catch (error) {
        failures.push(error);
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  const clients = Array.from({ length: 3 }, (_, n) => client(n));
  return {
    get answered() {
      return answered;
    },
    async stop() {
      stopped = true;
      await Promise.all(clients);
      return { answered, failures, missing };
    },
  };
}
