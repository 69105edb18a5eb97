import {
  type AllStreamResolvedEvent,
  type AllStreamSubscription,
  ANY,
  type AppendExpectedRevision,
  END,
  type RecordedEvent as EsdbRecordedEvent,
  EventStoreDBClient,
  type JSONType,
  jsonEvent,
  NO_STREAM,
  type Position,
  START,
  StreamNotFoundError,
  streamNameFilter,
  WrongExpectedVersionError,
} from "@eventstore/db-client";
import { v7 as uuidv7 } from "uuid";
import { WrongExpectedRevision } from "../errors.js";
import type {
  AppendResult,
  EventStore,
  ExpectedRevision,
  FollowOptions,
  JsonValue,
  LogPage,
  NewEvent,
  ReadAllOptions,
  ReadAllPage,
  RecordedEvent,
} from "../port.js";
import { toCheckpoint, toPosition } from "./esdb-checkpoint.js";
import { fromEsdbMetadata, toEsdbMetadata } from "./esdb-metadata.js";
import { SubscriptionBatches } from "./subscription-batches.js";

/** What a server too old to tell a stream read's `$all` position sends instead (-1 as uint64). */
const noPosition = 2n ** 64n - 1n;

export interface EsdbEventStoreOptions {
  /**
   * Prepended to every stream name in EventStoreDB, so that several deployments (or test runs)
   * can share one server: stream `basket-1` is `<namespace>basket-1` there. Empty by default.
   */
  namespace?: string;
}

/**
 * The event store on EventStoreDB (`@eventstore/db-client`, gRPC): one stream per basket, the
 * global log is `$all` without the system streams (`$…`), and a checkpoint is an event's `$all`
 * position (commit and prepare). Revisions and positions are bigint throughout, as the client
 * hands them over.
 */
export class EsdbEventStore implements EventStore {
  readonly #namespace: string;

  constructor(
    private readonly client: EventStoreDBClient,
    options: EsdbEventStoreOptions = {},
  ) {
    this.#namespace = options.namespace ?? "";
  }

  /** `esdb://host:2113?tls=false` and the other forms the client's connection string takes. */
  static connect(url: string, options: EsdbEventStoreOptions = {}): EsdbEventStore {
    return new EsdbEventStore(EventStoreDBClient.connectionString(url), options);
  }

  async append(
    stream: string,
    events: NewEvent[],
    expectedRevision: ExpectedRevision,
  ): Promise<AppendResult> {
    if (events.length === 0) throw new Error(`Nothing to append to ${stream}`);
    const ids = events.map((event) => event.id ?? uuidv7());
    // EventStoreDB would take them; the port promises that an event id is the one event's.
    if (new Set(ids).size < ids.length)
      throw new Error(`Cannot append to ${stream}: an event id appears twice`);
    const proposed = events.map((event, i) =>
      jsonEvent({
        id: ids[i] as string,
        type: event.type,
        data: event.data as JSONType,
        metadata: toEsdbMetadata(event.metadata, event.recordedAt),
      }),
    );
    let last: bigint;
    try {
      const result = await this.client.appendToStream(this.#namespace + stream, proposed, {
        expectedRevision: toExpectedRevision(expectedRevision),
      });
      last = result.nextExpectedRevision;
    } catch (error) {
      if (!(error instanceof WrongExpectedVersionError)) throw error;
      const actual = error.actualVersion;
      throw new WrongExpectedRevision(
        stream,
        expectedRevision,
        typeof actual === "bigint" ? actual : "no_stream",
      );
    }
    // The answer holds the last revision and position only: the events as the server recorded
    // them (each one's position, its time) are read back.
    const recorded = await this.readStream(stream, last - BigInt(events.length) + 1n, events.length);
    if (recorded.map((event) => event.id).join() !== ids.join())
      throw new Error(`${stream}: the events read back after the append are not the ones written`);
    const final = recorded.at(-1) as RecordedEvent;
    return { revision: final.revision, position: final.position, events: recorded };
  }

  async readStream(stream: string, fromRevision = 0n, maxCount?: number): Promise<RecordedEvent[]> {
    const read = this.client.readStream(this.#namespace + stream, {
      fromRevision: fromRevision === 0n ? START : fromRevision,
      ...(maxCount === undefined ? {} : { maxCount }),
    });
    const events: RecordedEvent[] = [];
    try {
      for await (const resolved of read) if (resolved.event) events.push(this.toRecorded(resolved.event));
    } catch (error) {
      if (error instanceof StreamNotFoundError) return [];
      throw error;
    }
    return events;
  }

  /**
   * The client reads `$all` without a filter, so the events of other streams are skipped here,
   * reading a chunk at a time until the page is full or the log ends (`follow` filters on the
   * server instead). Each chunk is read to its end: a read cancelled half-way leaves the client a
   * call that never finishes, which `close` would then wait for.
   */
  async readAll({ after, limit, streamPrefix }: ReadAllOptions): Promise<ReadAllPage> {
    const chunk = Math.min(Math.max(limit + 1, 64), 10_000);
    const events: RecordedEvent[] = [];
    let from = after ? toPosition(after) : undefined;
    for (;;) {
      let read = 0;
      let last: Position | undefined;
      const reading = this.client.readAll({ fromPosition: from ?? START, maxCount: chunk });
      for await (const { event } of reading as AsyncIterable<AllStreamResolvedEvent>) {
        read++;
        if (!event) continue;
        // A read from a position starts with the event at it, which the reader has already seen.
        const seen = from !== undefined && !isAfter(event.position, from);
        last = event.position;
        if (!seen && events.length < limit && this.isOurs(event.streamId, streamPrefix))
          events.push(this.toRecorded(event));
      }
      if (events.length >= limit || read < chunk || !last) break;
      from = last;
    }
    return { events, checkpoint: events.at(-1)?.checkpoint ?? after };
  }

  /** A catch-up subscription to `$all`, filtered by stream prefix on the server. */
  async *follow({ after, limit, streamPrefix, signal }: FollowOptions): AsyncGenerator<LogPage> {
    const subscription = this.client.subscribeToAll({
      fromPosition: after ? toPosition(after) : START,
      filter: this.ourStreams(streamPrefix),
    });
    const batches = new SubscriptionBatches(subscription, limit, signal);
    try {
      for (let batch = await batches.next(); batch; batch = await batches.next()) {
        const events = batch.flatMap((resolved) => (resolved.event ? [this.toRecorded(resolved.event)] : []));
        const last = events.at(-1);
        if (last) yield { events, checkpoint: last.checkpoint };
      }
    } finally {
      await batches.close();
    }
  }

  /**
   * A live subscription to `$all` from its end, confirmed before this returns. When it drops it
   * is made again, and the listener told once then: events may have come meanwhile.
   */
  async onAppended(listener: () => void): Promise<() => Promise<void>> {
    let stopped = false;
    let retry: NodeJS.Timeout | undefined;
    let current: AllStreamSubscription | undefined;
    const subscribe = () =>
      new Promise<void>((confirmed, failed) => {
        const subscription = this.client.subscribeToAll({
          fromPosition: END,
          filter: this.ourStreams(undefined),
        });
        current = subscription;
        const dropped = (error: Error) => {
          failed(error);
          if (stopped || current !== subscription) return;
          current = undefined;
          retry = setTimeout(() => subscribe().then(listener, () => {}), 500);
        };
        subscription.on("data", () => listener());
        subscription.once("confirmation", () => confirmed());
        // Always listened to: an unheard stream error would be thrown.
        subscription.on("error", dropped);
        subscription.on("end", () => dropped(new Error("The $all subscription ended")));
      });
    await subscribe();
    return async () => {
      stopped = true;
      clearTimeout(retry);
      await current?.unsubscribe();
    };
  }

  async close(): Promise<void> {
    await this.client.dispose();
  }

  /** The events of this service, as a filter for the server: not EventStoreDB's own (`$…` streams). */
  private ourStreams(prefix: string | undefined) {
    const wanted = this.#namespace + (prefix ?? "");
    return wanted ? streamNameFilter({ prefixes: [wanted] }) : streamNameFilter({ regex: "^[^$]" });
  }

  /** The same, read on this side. */
  private isOurs(stream: string, prefix: string | undefined): boolean {
    return !stream.startsWith("$") && stream.startsWith(this.#namespace + (prefix ?? ""));
  }

  private toRecorded(event: EsdbRecordedEvent): RecordedEvent {
    return toRecorded(event, event.streamId.slice(this.#namespace.length));
  }
}

function toExpectedRevision(expected: ExpectedRevision): AppendExpectedRevision {
  if (expected === "no_stream") return NO_STREAM;
  if (expected === "any") return ANY;
  return expected;
}

function isAfter(position: Position | undefined, from: Position): boolean {
  if (!position) return false;
  return (
    position.commit > from.commit || (position.commit === from.commit && position.prepare > from.prepare)
  );
}

function toRecorded(event: EsdbRecordedEvent, stream: string): RecordedEvent {
  const { position } = event;
  if (!position || position.commit === noPosition)
    throw new Error(
      `EventStoreDB gave no $all position for ${event.streamId}@${event.revision}: ` +
        "stream reads carry it from EventStoreDB 22.10 on",
    );
  if (!event.isJson) throw new Error(`${event.streamId}@${event.revision} is not a JSON event`);
  const { metadata, recordedAt } = fromEsdbMetadata(event.metadata);
  return {
    id: event.id,
    stream,
    revision: event.revision,
    position: position.commit,
    type: event.type,
    data: event.data as JsonValue,
    metadata,
    recordedAt: recordedAt ?? event.created,
    checkpoint: toCheckpoint(position),
  };
}
