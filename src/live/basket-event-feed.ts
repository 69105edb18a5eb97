import { basketStreamPrefix } from "../aggregates/basket/index.js";
import type { EventMetadata, EventStore, JsonValue, RecordedEvent } from "../eventstore/port.js";

/** A basket event as the feed carries it: enough to follow the basket's state. */
export interface FeedEvent {
  id: string;
  basketId: string;
  revision: bigint;
  type: string;
  data: JsonValue;
  /** Carries the event's schema version: the follower reads it through the upcasters. */
  metadata: EventMetadata;
}

/**
 * New basket events as they are published, by basket: the event relay's JetStream stream with
 * NATS (jetstream-event-feed.ts), the command handler's appends without (the embedded default).
 * Best effort and possibly out of order or twice: followers dedupe by revision and read what they
 * missed from the store (basket-states.ts).
 */
export interface BasketEventFeed {
  /** Calls `listener` with each new event of the basket until the returned function is called. */
  subscribe(basketId: string, listener: (event: FeedEvent) => void): () => void;
}

/** The listeners of a feed, by basket. */
export class FeedListeners implements BasketEventFeed {
  readonly #byBasket = new Map<string, Set<(event: FeedEvent) => void>>();

  subscribe(basketId: string, listener: (event: FeedEvent) => void): () => void {
    const listeners = this.#byBasket.get(basketId) ?? new Set();
    listeners.add(listener);
    this.#byBasket.set(basketId, listeners);
    return () => {
      listeners.delete(listener);
      if (listeners.size === 0) this.#byBasket.delete(basketId);
    };
  }

  dispatch(event: FeedEvent): void {
    for (const listener of this.#byBasket.get(event.basketId) ?? []) listener(event);
  }
}

export const toFeedEvent = (
  event: Pick<RecordedEvent, "id" | "stream" | "revision" | "type" | "data" | "metadata">,
): FeedEvent => ({
  id: event.id,
  basketId: event.stream.slice(basketStreamPrefix.length),
  revision: event.revision,
  type: event.type,
  data: event.data,
  metadata: event.metadata,
});

/**
 * Without NATS the only writer is this process (PGlite is never shared), so its own appends are
 * every new event: the store given to the command handler hands each append's events to the feed.
 */
export function feedingAppends(store: EventStore, feed: FeedListeners): EventStore {
  return {
    async append(stream, events, expectedRevision) {
      const result = await store.append(stream, events, expectedRevision);
      if (stream.startsWith(basketStreamPrefix))
        for (const event of result.events) feed.dispatch(toFeedEvent(event));
      return result;
    },
    readStream: (stream, fromRevision) => store.readStream(stream, fromRevision),
    readAll: (options) => store.readAll(options),
    follow: (options) => store.follow(options),
    onAppended: (listener) => store.onAppended(listener),
    close: () => store.close(),
  };
}
