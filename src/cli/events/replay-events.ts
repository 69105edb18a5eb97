import {
  ErrorCode,
  headers,
  type JetStreamClient,
  type JetStreamManager,
  type NatsConnection,
  type PubAck,
} from "nats";
import type { Checkpoint, EventStore, RecordedEvent } from "../../eventstore/port.js";
import { toEventLine } from "./event-line.js";
import { Pacer } from "./pacer.js";
import type { Progress } from "./progress.js";
import { type LogRange, readRange } from "./read-range.js";

export interface ReplayTarget {
  subject: string;
  /** Messages per second at most; as fast as NATS takes them when absent. */
  rate?: number | undefined;
}

export type ReplaySummary = {
  events: number;
  /** The checkpoint of the last event published: `--from` it to go on. */
  last: Checkpoint | undefined;
} & ({ jetStream: string; stored: number; duplicates: number } | { jetStream?: undefined });

/** JetStream acknowledgements awaited at once: enough to keep the connection busy, bounded memory. */
const acksInFlight = 64;

/**
 * Publishes a range of the log to a NATS subject, each message the event as an export line
 * with the header `Nats-Msg-Id: <event id>`, in log order.
 *
 * When a JetStream stream captures the subject, each message is published to JetStream and
 * acknowledged: the stream drops an id it has seen within its duplicate window, so a replay run
 * twice (or resumed from an earlier checkpoint) stores each event once. Otherwise it is a core
 * NATS publish, at most once, and subscribers dedupe by the header if they need to.
 */
export async function replayEvents(
  store: EventStore,
  nc: NatsConnection,
  range: LogRange,
  target: ReplayTarget,
  progress: Progress,
): Promise<ReplaySummary> {
  const pacer = new Pacer(target.rate);
  const bound = await jetStreamFor(nc, target.subject);
  const encoder = new TextEncoder();
  const payload = (event: RecordedEvent) => encoder.encode(JSON.stringify(toEventLine(event)));
  let events = 0;
  let last: Checkpoint | undefined;

  if (!bound) {
    for await (const page of readRange(store, range)) {
      for (const event of page) {
        await pacer.next();
        const h = headers();
        h.set("Nats-Msg-Id", event.id);
        nc.publish(target.subject, payload(event), { headers: h });
        events++;
        last = event.checkpoint;
        progress.add(1);
      }
      // Waits for the server to have taken the page: the client's buffer stays a page at most.
      await nc.flush();
    }
    return { events, last };
  }

  const { js, stream } = bound;
  let stored = 0;
  let duplicates = 0;
  const pending: Promise<PubAck>[] = [];
  const settleOldest = async () => {
    const ack = await (pending.shift() as Promise<PubAck>);
    if (ack.duplicate) duplicates++;
    else stored++;
    progress.add(1);
  };
  for await (const page of readRange(store, range)) {
    for (const event of page) {
      await pacer.next();
      const ack = js.publish(target.subject, payload(event), {
        msgID: event.id,
        expect: { streamName: stream },
      });
      // Awaited in order below; this only keeps a failure that comes early from counting as unhandled.
      ack.catch(() => {});
      pending.push(ack);
      events++;
      last = event.checkpoint;
      if (pending.length >= acksInFlight) await settleOldest();
    }
  }
  while (pending.length > 0) await settleOldest();
  return { events, last, jetStream: stream, stored, duplicates };
}

/** The JetStream stream that captures the subject, if any (and if the server runs JetStream at all). */
async function jetStreamFor(
  nc: NatsConnection,
  subject: string,
): Promise<{ js: JetStreamClient; stream: string } | undefined> {
  let jsm: JetStreamManager;
  try {
    jsm = await nc.jetstreamManager();
  } catch (error) {
    // The client reports a server (or account) without JetStream as code 503.
    if ((error as { code?: unknown }).code === ErrorCode.JetStreamNotEnabled) return undefined;
    throw error;
  }
  try {
    return { js: nc.jetstream(), stream: await jsm.streams.find(subject) };
  } catch (error) {
    if ((error as Error).message === "no stream matches subject") return undefined;
    throw error;
  }
}
