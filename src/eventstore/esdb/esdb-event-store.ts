import {
  type AllStreamResolvedEvent,
  type AllStreamSubscription,
  ANY,
  type AppendExpectedRevision,
  BACKWARDS,
  END,
  type RecordedEvent as EsdbRecordedEvent,
  EventStoreDBClient,
  NO_STREAM,
  NotLeaderError,
  type Position,
  type ReadStreamOptions,
  START,
  StreamDeletedError,
  StreamNotFoundError,
  streamNameFilter,
} from "@eventstore/db-client";
import type { Logger } from "pino";
import {
  AppendTooLarge,
  CheckpointNotInLog,
  DuplicateEventId,
  StreamDeleted,
  WrongExpectedRevision,
} from "../errors.js";
import type {
  AppendResult,
  Checkpoint,
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
import { isUnreadablePosition, toAppendError } from "./esdb-errors.js";
import { fromEsdbMetadata } from "./esdb-metadata.js";
import { defaultMaxAppendSize, proposeEvents } from "./esdb-proposed-events.js";
import { SkippedRecords, type SkipReason, skipReason } from "./skipped-records.js";
import { SubscriptionBatches } from "./subscription-batches.js";

/** What a server too old to tell a stream read's `$all` position sends instead (-1 as uint64). */
const noPosition = 2n ** 64n - 1n;

export interface EsdbEventStoreOptions {
  /**
   * Prepended to every stream name in EventStoreDB, so that several deployments (or test runs)
   * can share one server: stream `basket-1` is `<namespace>basket-1` there. Empty by default.
   */
  namespace?: string;
  /** Where the adapter says (once per kind) that it passes over records that are not events of this service. */
  log?: Pick<Logger, "warn">;
}

/**
 * The event store on EventStoreDB (`@eventstore/db-client`, gRPC): one stream per basket, the
 * global log is `$all` without the system streams (`$…`), and a checkpoint is an event's `$all`
 * position (commit and prepare). Revisions and positions are bigint throughout, as the client
 * hands them over. docs/eventstoredb.md tells what a deployment needs to know.
 */
export class EsdbEventStore implements EventStore {
  readonly #namespace: string;
  readonly #skipped: SkippedRecords;

  constructor(
    private readonly client: EventStoreDBClient,
    options: EsdbEventStoreOptions = {},
  ) {
    this.#namespace = options.namespace ?? "";
    this.#skipped = new SkippedRecords(options.log);
  }

  /** `esdb://host:2113?tls=false` and the other forms the client's connection string takes. */
  static connect(url: string, options: EsdbEventStoreOptions = {}): EsdbEventStore {
    return new EsdbEventStore(EventStoreDBClient.connectionString(url), options);
  }

  /** Records of the log passed over so far, by reason: not events of this service. */
  get skippedRecords(): Readonly<Record<SkipReason, number>> {
    return this.#skipped.counts;
  }

  /**
   * One append call; its answer holds the last revision and position, which is all a one-event
   * append needs. The positions of the others are read back from the leader, where the write
   * is sure to be visible (a follower may not have it yet).
   *
   * EventStoreDB takes a repeated event id as a retry: with `any`, or an expected revision the
   * stream has passed, it answers success and the original revision without writing. Ids the
   * adapter makes are new; when the caller gives ids, the stream's revision is read first (from
   * the leader), so that such an answer is told apart and refused as the port promises.
   */
  async append(
    stream: string,
    events: NewEvent[],
    expectedRevision: ExpectedRevision,
  ): Promise<AppendResult> {
    const proposed = proposeEvents(stream, events, new Date());
    // The server would refuse it too, once it had all of it.
    if (proposed.bytes > defaultMaxAppendSize)
      throw new AppendTooLarge(stream, proposed.bytes, defaultMaxAppendSize);
    const name = this.#namespace + stream;
    const before = proposed.idsGiven ? await this.lastRevision(stream) : undefined;
    if (before !== undefined && expectedRevision !== "any" && before !== expectedRevision)
      throw new WrongExpectedRevision(stream, expectedRevision, before);
    const started = performance.now();
    let answer: Awaited<ReturnType<EventStoreDBClient["appendToStream"]>>;
    try {
      answer = await this.client.appendToStream(name, proposed.toSend, {
        expectedRevision: toExpectedRevision(expectedRevision),
      });
    } catch (error) {
      throw toAppendError(error, stream, expectedRevision, performance.now() - started, proposed.bytes);
    }
    const last = answer.nextExpectedRevision;
    if (typeof before === "bigint" && last <= before) throw new DuplicateEventId(stream, proposed.ids);
    const first = last - BigInt(events.length) + 1n;
    const positions =
      events.length === 1 && answer.position
        ? [answer.position]
        : await this.positionsOf(stream, first, proposed.ids);
    const recorded = proposed.asRead.map(
      (event, i): RecordedEvent => ({
        ...event,
        id: proposed.ids[i] as string,
        stream,
        revision: first + BigInt(i),
        position: (positions[i] as Position).commit,
        checkpoint: toCheckpoint(positions[i] as Position),
      }),
    );
    const final = recorded.at(-1) as RecordedEvent;
    return { revision: final.revision, position: final.position, events: recorded };
  }

  async readStream(stream: string, fromRevision = 0n): Promise<RecordedEvent[]> {
    const events = await this.readRaw(stream, { fromRevision: fromRevision === 0n ? START : fromRevision });
    return events.flatMap((event) => this.toRecorded(event) ?? []);
  }

  /**
   * The client reads `$all` without a filter, so the events of other streams are skipped here,
   * reading a chunk at a time until the page is full or the log ends (`follow` filters on the
   * server instead). Each chunk is read to its end: a read cancelled half-way leaves the client a
   * call that never finishes, which `close` would then wait for. A read from a checkpoint starts
   * with the event there: when nothing is there, the log does not hold the checkpoint.
   */
  async readAll({ after, limit, streamPrefix }: ReadAllOptions): Promise<ReadAllPage> {
    const chunk = Math.min(Math.max(limit + 1, 64), 10_000);
    const events: RecordedEvent[] = [];
    let from = after ? toPosition(after) : undefined;
    for (let first = true; ; first = false) {
      let read = 0;
      let last: Position | undefined;
      const reading = this.client.readAll({ fromPosition: from ?? START, maxCount: chunk });
      try {
        for await (const { event } of reading as AsyncIterable<AllStreamResolvedEvent>) {
          read++;
          if (!event) continue;
          // The event at the position itself the reader has seen already.
          const seen = from !== undefined && !isAfter(event.position, from);
          last = event.position;
          if (seen || events.length >= limit || !this.isOurs(event.streamId, streamPrefix)) continue;
          const recorded = this.toRecorded(event);
          if (recorded) events.push(recorded);
        }
      } catch (error) {
        throw after && first && isUnreadablePosition(error) ? betweenRecords(after) : error;
      }
      if (after && first && read === 0) throw pastTheEnd(after);
      if (events.length >= limit || read < chunk || !last) break;
      from = last;
    }
    return { events, checkpoint: events.at(-1)?.checkpoint ?? after };
  }

  /**
   * A catch-up subscription to `$all`, filtered by stream prefix on the server. A subscription
   * from a position past the end of the log would wait there (24.10 passes over every event up
   * to it): the position is first read, to stop with CheckpointNotInLog instead.
   */
  async *follow({ after, limit, streamPrefix, signal }: FollowOptions): AsyncGenerator<LogPage> {
    if (after) await this.checkInLog(after);
    const subscription = this.client.subscribeToAll({
      fromPosition: after ? toPosition(after) : START,
      filter: this.ourStreams(streamPrefix),
    });
    const batches = new SubscriptionBatches(subscription, limit, signal);
    try {
      for (let batch = await batches.next(); batch; batch = await batches.next()) {
        const events = batch.flatMap((resolved) =>
          resolved.event ? (this.toRecorded(resolved.event) ?? []) : [],
        );
        const last = events.at(-1);
        if (last) yield { events, checkpoint: last.checkpoint };
      }
    } catch (error) {
      throw after && isUnreadablePosition(error) ? betweenRecords(after) : error;
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

  /** Throws CheckpointNotInLog unless a record of the log starts at the checkpoint. */
  private async checkInLog(checkpoint: Checkpoint): Promise<void> {
    let read = 0;
    try {
      for await (const _ of this.client.readAll({ fromPosition: toPosition(checkpoint), maxCount: 1 }))
        read++;
    } catch (error) {
      throw isUnreadablePosition(error) ? betweenRecords(checkpoint) : error;
    }
    if (read === 0) throw pastTheEnd(checkpoint);
  }

  /** The stream's last revision as the leader has it; "no_stream" when it has none (or was soft-deleted). */
  private async lastRevision(stream: string): Promise<bigint | "no_stream"> {
    const [last] = await this.readRaw(stream, { fromRevision: END, direction: BACKWARDS, maxCount: 1 }, true);
    return last?.revision ?? "no_stream";
  }

  /** The `$all` positions of the events just appended at `first` on, checked to be those events. */
  private async positionsOf(stream: string, first: bigint, ids: string[]): Promise<Position[]> {
    const read = await this.readRaw(stream, { fromRevision: first, maxCount: ids.length }, true);
    if (read.map((event) => event.id).join() !== ids.join())
      throw new Error(`${stream}: the events read back after the append are not the ones written`);
    return read.map((event) => checkedPosition(event));
  }

  /**
   * A stream's records as the client gives them. `fromLeader` asks for the leader: when the
   * client is connected to a follower, the first such read fails and the client reconnects to
   * the leader, so it is tried once more.
   */
  private async readRaw(
    stream: string,
    options: ReadStreamOptions,
    fromLeader = false,
  ): Promise<EsdbRecordedEvent[]> {
    const attempt = async () => {
      const events: EsdbRecordedEvent[] = [];
      const read = this.client.readStream(this.#namespace + stream, {
        ...options,
        requiresLeader: fromLeader,
      });
      for await (const resolved of read) if (resolved.event) events.push(resolved.event);
      return events;
    };
    try {
      return await attempt().catch((error) => {
        if (fromLeader && error instanceof NotLeaderError) return attempt();
        throw error;
      });
    } catch (error) {
      if (error instanceof StreamNotFoundError) return [];
      if (error instanceof StreamDeletedError) throw new StreamDeleted(stream);
      throw error;
    }
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

  /** A record of one of our streams as the port's event; undefined (and counted) when it is not one. */
  private toRecorded(event: EsdbRecordedEvent): RecordedEvent | undefined {
    const reason = skipReason(event);
    if (reason) {
      this.#skipped.note(reason, event);
      return undefined;
    }
    const position = checkedPosition(event);
    const { metadata, recordedAt } = fromEsdbMetadata(event.metadata);
    return {
      id: event.id,
      stream: event.streamId.slice(this.#namespace.length),
      revision: event.revision,
      position: position.commit,
      type: event.type,
      data: event.data as JsonValue,
      metadata,
      recordedAt: recordedAt ?? event.created,
      checkpoint: toCheckpoint(position),
    };
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

function checkedPosition(event: EsdbRecordedEvent): Position {
  const { position } = event;
  if (!position || position.commit === noPosition)
    throw new Error(
      `EventStoreDB gave no $all position for ${event.streamId}@${event.revision}: ` +
        "stream reads carry it from EventStoreDB 22.10 on",
    );
  return position;
}

const pastTheEnd = (checkpoint: Checkpoint) =>
  new CheckpointNotInLog(
    checkpoint,
    "EventStoreDB's log ends before it — the server lost events it had (a database started anew, " +
      "such as an in-memory one restarted), or the checkpoint is another server's",
  );

const betweenRecords = (checkpoint: Checkpoint) =>
  new CheckpointNotInLog(
    checkpoint,
    "no record of EventStoreDB's log starts there — the log is not the one the checkpoint was " +
      "taken in (a database started anew and written again), or the checkpoint is another server's",
  );
