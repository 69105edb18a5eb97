import type { NatsConnection } from "nats";
import { v7 as uuidv7 } from "uuid";
import { basketStream } from "../../src/aggregates/basket/index.js";
import type { EventLine } from "../../src/eventstore/event-line.js";
import type { Checkpoint, EventStore, NewEvent, RecordedEvent } from "../../src/eventstore/port.js";

/**
 * Baskets of one create and `eventsEach - 1` adds, appended a basket at a time, `concurrency` at
 * once — as stored before the catalog (ItemAdded v1: no schema version, no product revision),
 * so every reader of them goes through the upcaster.
 */
export async function appendBaskets(store: EventStore, baskets: number, eventsEach: number, concurrency = 8) {
  const ids = Array.from({ length: baskets }, () => uuidv7());
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < ids.length) {
        const basketId = ids[next++] as string;
        const events: NewEvent[] = [
          { type: "BasketCreated", data: { basketId, visitorId: null, currency: "EUR" } },
        ];
        for (let i = 1; i < eventsEach; i++)
          events.push({
            type: "ItemAdded",
            data: { sku: `sku-${i % 12}`, name: "Tea", unitPrice: 450, quantity: 1 },
          });
        await store.append(basketStream(basketId), events, "no_stream");
      }
    }),
  );
  return ids;
}

/**
 * The whole global log. A page that comes back empty because a transaction open anywhere on the
 * server (another test's) holds newer events back is read again, not taken for the end.
 */
export async function readEverything(store: EventStore): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  let after: Checkpoint | undefined;
  for (;;) {
    const page = await store.readAll({ after, limit: 1000 });
    if (page.pending) await new Promise((resolve) => setTimeout(resolve, 20));
    else if (page.events.length === 0) return events;
    events.push(...page.events);
    after = page.checkpoint;
  }
}

export interface StreamedEvent {
  subject: string;
  /** The Nats-Msg-Id header. */
  id: string | undefined;
  line: EventLine;
}

/** Everything a JetStream stream holds, in stream order, read by an ordered consumer. */
export async function readJetStream(nc: NatsConnection, stream: string): Promise<StreamedEvent[]> {
  const jsm = await nc.jetstreamManager();
  if ((await jsm.streams.info(stream)).state.messages === 0) return [];
  const messages = await (await nc.jetstream().consumers.get(stream)).consume();
  const read: StreamedEvent[] = [];
  for await (const message of messages) {
    read.push({ subject: message.subject, id: message.headers?.get("Nats-Msg-Id"), line: message.json() });
    if (message.info.pending === 0) break;
  }
  return read;
}

/** What a consumer that drops ids it has seen keeps: each event once, the first time it came. */
export function dedupeById(events: StreamedEvent[]): StreamedEvent[] {
  const seen = new Set<string | undefined>();
  return events.filter((event) => !seen.has(event.id) && seen.add(event.id));
}
