import { type NatsConnection, nanos, RetentionPolicy, StorageType } from "nats";
import { basketStreamPrefix } from "../../aggregates/basket/index.js";
import { encodeEventLine } from "../../eventstore/event-line.js";
import type { RecordedEvent } from "../../eventstore/port.js";
import { eventRelay } from "../../projections/event-relay.js";
import type { OutboundProjection } from "../../projections/projection.js";
import { OrderedPublisher } from "../jetstream/ordered-publisher.js";
import { ensureStream, remakingStreams } from "../jetstream/streams.js";
import { allEventsWildcard, eventSubject, eventsStream } from "../names.js";

/**
 * The stream other services consume from with durable consumers of their own. Made with the
 * given duplicate window when missing; an existing stream is left as operators set it.
 */
export async function ensureEventsStream(
  nc: NatsConnection,
  prefix: string,
  duplicateWindowMs: number,
): Promise<void> {
  await ensureStream(await nc.jetstreamManager(), {
    name: eventsStream(prefix),
    subjects: [allEventsWildcard(prefix)],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    duplicate_window: nanos(duplicateWindowMs),
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
  duplicateWindowMs: number,
): OutboundProjection {
  const js = nc.jetstream();
  return {
    ...eventRelay,
    async deliver(events: RecordedEvent[]) {
      // A failed batch is delivered again (the runner retries): with the stream made anew if lost.
      await remakingStreams(
        async () => {
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
        },
        () => ensureEventsStream(nc, prefix, duplicateWindowMs),
      );
    },
  };
}
