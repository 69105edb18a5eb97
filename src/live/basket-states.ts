import {
  type Basket,
  type BasketView,
  basketStream,
  evolve,
  initialBasket,
  toBasketView,
} from "../aggregates/basket/index.js";
import { toBasketEvent } from "../events/index.js";
import type { EventMetadata, EventStore, JsonValue } from "../eventstore/port.js";
import type { BasketEventFeed, FeedEvent } from "./basket-event-feed.js";

/** The basket after one of its events. */
export interface BasketState {
  revision: bigint;
  basket: BasketView;
}

/**
 * A basket's states as it changes: the current one first (or, resuming after revision `after`,
 * each one since), then one after every new event. The store is the truth and the feed a
 * doorbell that also carries the news: the feed is subscribed to before the store is read, so
 * nothing falls between the two; an event seen twice (the relay publishes at least once) is
 * dropped by revision, and a gap (an event missed or late) is filled from the store.
 *
 * Undefined when the basket does not exist. Ends when `signal` aborts.
 */
export async function followBasket(
  store: EventStore,
  feed: BasketEventFeed,
  basketId: string,
  after: bigint | undefined,
  signal: AbortSignal,
): Promise<AsyncGenerator<BasketState> | undefined> {
  const arrived: FeedEvent[] = [];
  let ring: (() => void) | undefined;
  const unsubscribe = feed.subscribe(basketId, (event) => {
    arrived.push(event);
    ring?.();
  });
  const history = await store.readStream(basketStream(basketId)).catch((error) => {
    unsubscribe();
    throw error;
  });
  if (history.length === 0) {
    unsubscribe();
    return undefined;
  }

  let state: Basket = initialBasket;
  let revision = -1n;
  const fold = (events: { revision: bigint; type: string; data: JsonValue; metadata: EventMetadata }[]) => {
    const states: BasketState[] = [];
    for (const event of events) {
      if (event.revision !== revision + 1n) continue;
      state = evolve(state, toBasketEvent(event));
      revision = event.revision;
      states.push({ revision, basket: toBasketView(state) as BasketView });
    }
    return states;
  };
  const initial = fold(history);
  // Without a point to resume from, the client needs only where the basket is now.
  const first = after === undefined ? initial.slice(-1) : initial.filter((s) => s.revision > after);

  signal.addEventListener("abort", () => ring?.(), { once: true });

  async function* states(): AsyncGenerator<BasketState> {
    try {
      yield* first;
      while (!signal.aborted) {
        if (arrived.length === 0) {
          await new Promise<void>((resolve) => {
            ring = resolve;
          });
          ring = undefined;
          continue;
        }
        const event = arrived.shift() as FeedEvent;
        if (event.revision <= revision) continue; // seen already
        if (event.revision === revision + 1n) yield* fold([event]);
        else yield* fold(await store.readStream(basketStream(basketId), revision + 1n)); // a gap
      }
    } finally {
      unsubscribe();
    }
  }
  return states();
}
