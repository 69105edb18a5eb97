import { type NatsConnection, nanos, RetentionPolicy, StorageType } from "nats";
import { basketStreamPrefix } from "../../aggregates/basket/index.js";
import { encodeEventLine } from "../../eventstore/event-line.js";
import type { RecordedEvent } from "../../eventstore/port.js";
import { eventRelay } from "../../projections/event-relay.js";
import type { OutboundProjection } from "../../projections/projection.js";
import { OrderedPublisher } from "../jetstream/ordered-publisher.js";
import { ensureStream, RemakingStreams } from "../jetstream/streams.js";
import { allEventsWildcard, eventSubject, eventsStream } from "../names.js";

/** How the events stream is made, when a process makes it (EVENTS_DUPLICATE_WINDOW_SECONDS, NATS_REPLICAS). */
export interface EventsStreamSettings {
  duplicateWindowMs: number;
  replicas: number;
}

/**
 * The stream other services consume from with durable consumers of their own. Made with the
 * given settings when missing; an existing stream is left as operators set it.
 */
export async function ensureEventsStream(
  nc: NatsConnection,
  prefix: string,
  { duplicateWindowMs, replicas }: EventsStreamSettings,
): Promise<void> {
  await ensureStream(await nc.jetstreamManager(), {
    name: eventsStream(prefix),
    subjects: [allEventsWildcard(prefix)],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    duplicate_window: nanos(duplicateWindowMs),
    num_replicas: replicas,
  });
}

/**
 * The relay's delivery: each event of a batch is published in log order with `Nats-Msg-Id` set
 * to its id, and the batch is delivered once JetStream has acknowledged every one. The runner
 * moves the checkpoint only after that, in a transaction the publish cannot be part of — so
 * after a crash or a lost lock a batch is published again: at least once. Within the stream's
 * duplicate window JetStream drops the copies; past it (a rebuild that re-publishes from the
 * start, say) they are stored again, and consumers drop them by event id. Each message carries
 * the event's stream and revision, so a consumer can also tell a basket's order.
 */
export function eventRelayProjection(
  nc: NatsConnection,
  prefix: string,
  settings: EventsStreamSettings,
): OutboundProjection {
  const js = nc.jetstream();
  const streams = new RemakingStreams(() => ensureEventsStream(nc, prefix, settings));
  return {
    ...eventRelay,
    async deliver(events: RecordedEvent[]) {
      // A failed batch is delivered again (the runner retries): with the stream made anew if lost.
      await streams.run(async () => {
        const publisher = new OrderedPublisher(js, eventsStream(prefix));
        for (const event of events) {
          const basketId = event.stream.slice(basketStreamPrefix.length);
          await publisher.publish(
            eventSubject(prefix, event.type, basketId),
            encodeEventLine(event),
            event.id,
          );
        }
        await publisher.settle();
      });
    },
  };
}
