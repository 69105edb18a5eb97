import { v7 as uuidv7 } from "uuid";
import { type BasketEvent, basketStream } from "../src/aggregates/basket/index.js";
import { versionOf } from "../src/events/index.js";
import type { EventStore } from "../src/eventstore/port.js";
import { defaultTestPrice, seedCatalog, skuPool, testProductName } from "../test/support/catalog.js";
import { drive } from "./stats.js";

/** The size of the log the projection benchmarks work on (BENCH_LOG_EVENTS to change it). */
export const logSize = Number(process.env.BENCH_LOG_EVENTS ?? 200_000);
const eventsPerBasket = 20;
const skus = skuPool(12);

/**
 * Fills the log fast: the catalog's products, then baskets of one create and 19 adds, appended
 * a basket at a time — in the current schema versions, as the service writes them now.
 */
export async function fillLog(store: EventStore): Promise<void> {
  await seedCatalog(store, skus);
  await drive(logSize / eventsPerBasket, 32, async () => {
    const basketId = uuidv7();
    const events: BasketEvent[] = [
      { type: "BasketCreated", data: { basketId, visitorId: null, currency: "EUR" } },
    ];
    for (let i = 1; i < eventsPerBasket; i++) {
      const sku = skus[i % skus.length] as string;
      events.push({
        type: "ItemAdded",
        data: {
          sku,
          name: testProductName(sku),
          unitPrice: defaultTestPrice,
          quantity: 1,
          productRevision: 0,
        },
      });
    }
    await store.append(
      basketStream(basketId),
      events.map((event) => ({ ...event, metadata: versionOf(event.type) })),
      "no_stream",
    );
  });
}
