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
import { traceOf } from "../telemetry/spans.js";
import type { BasketEventFeed, FeedEvent } from "./basket-event-feed.js";

/**
 * The basket after one of its events — or, `reset`, where it is now: the client was too far
 * behind to be sent every state it missed, and starts again from this one.
 */
export interface BasketState {
  kind: "state" | "reset";
  revision: bigint;
  basket: BasketView;
  /** The trace of the command whose event made this state, when it was traced. */
  trace?: Record<string, string> | undefined;
}

export interface FollowOptions {
  /** Resuming more than this many events behind, the client gets one `reset` instead of each state. */
  maxReplay: number;
}

type Foldable = { revision: bigint; type: string; data: JsonValue; metadata: EventMetadata };

/**
 * A basket's states as it changes: the current one first (or, resuming after revision `after`,
 * each one since — folded once, and only the ones the client lacks turned into views), then one
 * after every new event. The store is the truth and the feed a doorbell that also carries the
 * news: the feed is subscribed to before the store is read, so nothing falls between the two; an
 * event seen twice (the relay publishes at least once) is dropped by revision, and a gap (an
 * event missed or late) is filled from the store.
 *
 * Undefined when the basket does not exist. Ends when `signal` aborts.
 */
export async function followBasket(
  store: EventStore,
  feed: BasketEventFeed,
  basketId: string,
  after: bigint | undefined,
  signal: AbortSignal,
  { maxReplay }: FollowOptions = { maxReplay: 100 },
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
  /** Folds the events in order; a view is made only of the states `wanted` keeps. */
  const fold = (events: Foldable[], wanted: (revision: bigint) => boolean = () => true) => {
    const states: BasketState[] = [];
    for (const event of events) {
      if (event.revision !== revision + 1n) continue;
      state = evolve(state, toBasketEvent(event));
      revision = event.revision;
      if (wanted(revision))
        states.push({
          kind: "state",
          revision,
          basket: toBasketView(state) as BasketView,
          trace: traceOf(event.metadata),
        });
    }
    return states;
  };
  const current = (history.at(-1) as Foldable).revision;
  const behind = after === undefined ? 0n : current - after;
  // Without a point to resume from, or too far behind it, the client needs only where it is now.
  const resumes = after !== undefined && behind <= BigInt(maxReplay);
  const first = fold(history, (at) => (resumes ? at > (after as bigint) : at === current));
  if (after !== undefined && !resumes) for (const reset of first) reset.kind = "reset";

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
