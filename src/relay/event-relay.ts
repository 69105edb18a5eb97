import { type NatsConnection, nanos, RetentionPolicy, StorageType } from "nats";
import { basketStreamPrefix } from "../aggregates/basket/index.js";
import { encodeEventLine } from "../eventstore/event-line.js";
import type { RecordedEvent } from "../eventstore/port.js";
import { OrderedPublisher } from "../jetstream/ordered-publisher.js";
import { ensureStream } from "../jetstream/streams.js";
import type { OutboundProjection, ProjectionInfo } from "../projections/projection.js";

/**
 * The event relay: a projection (one active runner, a checkpoint, `projections status`) whose
 * target is a JetStream stream rather than tables. The log is the outbox: an event is published
 * because it was stored, whatever became of the worker that stored it.
 */
export const eventRelay = {
  kind: "outbound",
  name: "event-relay",
  version: 1,
  streamPrefix: basketStreamPrefix,
  tables: [],
} as const satisfies ProjectionInfo;

/** `<prefix>.events.<EventType>.<basketId>`: subscribe to one kind of event, one basket, or all. */
export const eventSubject = (prefix: string, type: string, basketId: string) =>
  `${prefix}.events.${type.replaceAll(/[^A-Za-z0-9_-]/g, "_")}.${basketId}`;
export const basketEventsWildcard = (prefix: string, basketId: string) => `${prefix}.events.*.${basketId}`;
export const eventsStream = (prefix: string) => `${prefix}-events`;

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
    subjects: [`${prefix}.events.>`],
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
export function eventRelayProjection(nc: NatsConnection, prefix: string): OutboundProjection {
  const js = nc.jetstream();
  return {
    ...eventRelay,
    async deliver(events: RecordedEvent[]) {
      const publisher = new OrderedPublisher(js, eventsStream(prefix));
      for (const event of events) {
        const basketId = event.stream.slice(basketStreamPrefix.length);
        await publisher.publish(eventSubject(prefix, event.type, basketId), encodeEventLine(event), event.id);
      }
      await publisher.settle();
    },
  };
}
