import { v7 as uuidv7 } from "uuid";
import { type BasketEvent, basketStream } from "../src/aggregates/basket/index.js";
import type { EventStore } from "../src/eventstore/port.js";
import { drive } from "./stats.js";

/** The size of the log the projection benchmarks work on (BENCH_LOG_EVENTS to change it). */
export const logSize = Number(process.env.BENCH_LOG_EVENTS ?? 200_000);
const eventsPerBasket = 20;

/** Fills the log fast: baskets of one create and 19 adds, appended a basket at a time. */
export async function fillLog(store: EventStore): Promise<void> {
  await drive(logSize / eventsPerBasket, 32, async () => {
    const basketId = uuidv7();
    const events: BasketEvent[] = [
      { type: "BasketCreated", data: { basketId, visitorId: null, currency: "EUR" } },
    ];
    for (let i = 1; i < eventsPerBasket; i++) {
      events.push({
        type: "ItemAdded",
        data: { sku: `sku-${i % 12}`, name: "Tea", unitPrice: 450, quantity: 1 },
      });
    }
    await store.append(basketStream(basketId), events, "no_stream");
  });
}
