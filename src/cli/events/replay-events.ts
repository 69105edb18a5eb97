import { ErrorCode, headers, type JetStreamClient, type JetStreamManager, type NatsConnection } from "nats";
import { encodeEventLine } from "../../eventstore/event-line.js";
import type { Checkpoint, EventStore } from "../../eventstore/port.js";
import { OrderedPublisher } from "../../nats/jetstream/ordered-publisher.js";
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
  let events = 0;
  let last: Checkpoint | undefined;

  if (!bound) {
    for await (const page of readRange(store, range)) {
      for (const event of page) {
        await pacer.next();
        const h = headers();
        h.set("Nats-Msg-Id", event.id);
        nc.publish(target.subject, encodeEventLine(event), { headers: h });
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
  const publisher = new OrderedPublisher(js, stream, () => progress.add(1));
  for await (const page of readRange(store, range)) {
    for (const event of page) {
      await pacer.next();
      await publisher.publish(target.subject, encodeEventLine(event), event.id);
      events++;
      last = event.checkpoint;
    }
  }
  await publisher.settle();
  return { events, last, jetStream: stream, stored: publisher.stored, duplicates: publisher.duplicates };
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
