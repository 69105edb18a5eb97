/**
 * The EventStoreDB test double's storage: one transaction log in memory, with the semantics the
 * server gives its clients (see the services for the wire). Modelled on EventStoreDB v24.10's
 * StorageWriterService and IndexWriter.CheckCommit (src/EventStore.Core/Services/Storage).
 * Test-only.
 */

/** An `$all` position. Each record is its own commit: commit = prepare = the record's offset in the log. */
export interface LogPosition {
  commit: bigint;
  prepare: bigint;
}

/** A record of the log a client can read: an event, a hard delete's tombstone, a stream's metadata. */
export interface StoredEvent {
  stream: string;
  revision: bigint;
  /** Lowercase, as the server prints a Guid. */
  id: string;
  type: string;
  contentType: string;
  data: Uint8Array;
  customMetadata: Uint8Array;
  /** .NET ticks (100 ns) since the Unix epoch, as the server stamps `created`. */
  created: bigint;
  position: LogPosition;
}

export type ProposedEvent = Pick<StoredEvent, "id" | "type" | "contentType" | "data" | "customMetadata">;

export type ExpectedState = { revision: bigint } | "any" | "no_stream" | "stream_exists";

export type WriteOutcome =
  | { kind: "written"; currentRevision: bigint; last: StoredEvent }
  /** The events were there already (the same ids, in order): nothing written, the original answered. */
  | { kind: "idempotent"; currentRevision: bigint; position: LogPosition }
  | { kind: "wrong_expected_version"; currentRevision: bigint | undefined }
  | { kind: "stream_deleted" };

export interface MemoryLogOptions {
  /** Where the log's positions start: a double can hand out positions above 2^53 from its first event. */
  firstPosition?: bigint;
}

/** A hard-deleted stream's revision, as the server gives its tombstone: EventNumber.DeletedStream (2^63 − 1). */
export const deletedStreamRevision = 2n ** 63n - 1n;

/** A log record's size, roughly: positions are byte offsets in the transaction log, not counters. */
const recordSize = (stream: string, event: ProposedEvent) =>
  BigInt(128 + stream.length + event.type.length + event.data.length + event.customMetadata.length);

const ticksPerMillisecond = 10_000n;
/** Ticks since the epoch, with a sub-millisecond part so two events of one millisecond differ, as the server's clock does. */
let lastTicks = 0n;
function nowInTicks(): bigint {
  const ticks = BigInt(Date.now()) * ticksPerMillisecond;
  lastTicks = ticks > lastTicks ? ticks : lastTicks + 1n;
  return lastTicks;
}

interface StreamState {
  /** The last event's revision; undefined while the stream has none. */
  last: bigint | undefined;
  /** The events a read can see: those from `truncateBefore` on (the double may also be seeded with only the last few). */
  events: StoredEvent[];
  truncateBefore: bigint;
  /** Soft-deleted (`$tb` = 2^63 − 1 in its metadata): reads find no stream; the next append continues it. */
  softDeleted: boolean;
  /** Hard-deleted: a tombstone ended it for good. */
  tombstoned: boolean;
}

const metadataStream = (stream: string) => `$$${stream}`;

export class MemoryLog {
  #all: StoredEvent[] = [];
  #streams = new Map<string, StreamState>();
  /** Event id → where it was written: the server's committed-events cache (unbounded here, bounded there). */
  #ids = new Map<string, { stream: string; revision: bigint }>();
  readonly #listeners = new Set<(event: StoredEvent) => void>();
  readonly #firstPosition: bigint;
  #nextPosition: bigint;

  constructor(options: MemoryLogOptions = {}) {
    this.#firstPosition = options.firstPosition ?? 0n;
    this.#nextPosition = this.#firstPosition;
  }

  /** The last revision of a stream that has events; undefined otherwise. */
  lastRevisionOf(stream: string): bigint | undefined {
    return this.#streams.get(stream)?.last;
  }

  /** Checks the expected state and the events' ids, then writes all the events or none, as one write. */
  append(stream: string, expected: ExpectedState, proposed: ProposedEvent[]): WriteOutcome {
    const decision = this.#check(stream, expected, proposed);
    if (decision.kind !== "ok") return decision;
    const state = this.#state(stream);
    if (proposed.length === 0)
      return { kind: "idempotent", currentRevision: state.last ?? -1n, position: this.end };
    if (state.softDeleted) this.#undelete(stream, state);
    let revision = state.last ?? -1n;
    const written = proposed.map((event) => this.#write(stream, ++revision, event));
    state.last = revision;
    state.events.push(...written);
    for (const event of written) this.#ids.set(event.id, { stream, revision: event.revision });
    this.#announce(written);
    return { kind: "written", currentRevision: revision, last: written.at(-1) as StoredEvent };
  }

  /**
   * A hard delete: the stream ends with a `$streamDeleted` tombstone — not JSON, at revision
   * 2^63 − 1 — which `$all` (and any filter on the stream's name) includes.
   */
  tombstone(stream: string, expected: ExpectedState, id: string): WriteOutcome {
    const decision = this.#check(stream, expected, [{ id } as ProposedEvent]);
    if (decision.kind !== "ok") return decision;
    const state = this.#state(stream);
    const tombstone = this.#write(stream, deletedStreamRevision, {
      id,
      type: "$streamDeleted",
      contentType: "application/octet-stream",
      data: new Uint8Array(),
      customMetadata: new Uint8Array(),
    });
    state.tombstoned = true;
    this.#announce([tombstone]);
    return { kind: "written", currentRevision: deletedStreamRevision, last: tombstone };
  }

  /**
   * A soft delete: metadata `$tb` = 2^63 − 1 in `$$<stream>`. The events stay in `$all`; reads
   * find no stream; the next append continues at the old revision and moves `$tb` up to it.
   */
  softDelete(stream: string, expected: ExpectedState, id: string): WriteOutcome {
    const decision = this.#check(stream, expected, [{ id } as ProposedEvent]);
    if (decision.kind !== "ok") return decision;
    const state = this.#state(stream);
    if (state.last === undefined) return { kind: "wrong_expected_version", currentRevision: undefined };
    const written = this.#writeMetadata(stream, id, deletedStreamRevision);
    state.softDeleted = true;
    return { kind: "written", currentRevision: state.last, last: written };
  }

  /**
   * A stream that already stands at `lastRevision` before the test begins (a long-lived store),
   * holding only the given events, which end at that revision.
   */
  seedStream(stream: string, lastRevision: bigint, proposed: ProposedEvent[]): void {
    if (this.#streams.has(stream)) throw new Error(`${stream} exists already`);
    const first = lastRevision - BigInt(proposed.length) + 1n;
    this.#streams.set(stream, { ...this.#state(stream), last: first - 1n, truncateBefore: first });
    const outcome = this.append(stream, { revision: first - 1n }, proposed);
    if (outcome.kind !== "written") throw new Error(`could not seed ${stream}`);
  }

  /** What a stream read finds: its events, or that there is no such stream, or that it is deleted for good. */
  readStream(stream: string): StoredEvent[] | "not_found" | "deleted" {
    const state = this.#streams.get(stream);
    if (state?.tombstoned) return "deleted";
    if (!state || state.last === undefined || state.softDeleted) return "not_found";
    return state.events.filter((event) => event.revision >= state.truncateBefore);
  }

  /** The whole log, in position order. */
  get all(): readonly StoredEvent[] {
    return this.#all;
  }

  /** The position the next write will get: the end of the log. */
  get end(): LogPosition {
    return { commit: this.#nextPosition, prepare: this.#nextPosition };
  }

  /** Whether a read can start at the position: a record's start, or the end (a reader past the end finds nothing). */
  isReadableFrom(position: LogPosition): boolean {
    if (position.commit >= this.#nextPosition) return true;
    const at = this.#all[this.indexFrom(position)];
    return at !== undefined && at.position.commit === position.commit;
  }

  /** Index of the first record at or after the position. */
  indexFrom(position: LogPosition): number {
    let low = 0;
    let high = this.#all.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (comparePositions((this.#all[middle] as StoredEvent).position, position) < 0) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  /** Calls `listener` with each record written from now on; returns how to stop. */
  onAppended(listener: (event: StoredEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Everything gone, positions from the start again: a server on an in-memory database, restarted. */
  clear(): void {
    this.#all = [];
    this.#streams = new Map();
    this.#ids = new Map();
    this.#nextPosition = this.#firstPosition;
  }

  /**
   * IndexWriter.CheckCommit: a deleted stream refuses; with `any` (or `stream_exists`) ids the
   * server remembers make the write idempotent; an expected revision behind the stream is
   * idempotent when the events after it carry these ids in this order, and wrong otherwise; a
   * partial match is a wrong expected version.
   */
  #check(
    stream: string,
    expected: ExpectedState,
    proposed: ProposedEvent[],
  ): { kind: "ok" } | Exclude<WriteOutcome, { kind: "written" }> {
    const state = this.#streams.get(stream);
    if (state?.tombstoned) return { kind: "stream_deleted" };
    const current = state?.last ?? -1n;
    const wrong = { kind: "wrong_expected_version", currentRevision: state?.last } as const;
    if (expected === "stream_exists") {
      if (state?.softDeleted) return { kind: "stream_deleted" };
      if (current < 0n) return wrong;
    }
    if (expected === "any" || expected === "stream_exists") {
      const found = proposed.map((event) => this.#ids.get(event.id));
      const first = found[0];
      if (!first || first.stream !== stream) return { kind: "ok" };
      const continuous = found.every(
        (where, i) => where?.stream === stream && where.revision === first.revision + BigInt(i),
      );
      return continuous ? this.#idempotent(stream, (found.at(-1) as { revision: bigint }).revision) : wrong;
    }
    const after = expected === "no_stream" ? -1n : expected.revision;
    if (after < current) {
      const held = new Map((state?.events ?? []).map((event) => [event.revision, event.id]));
      const matching = proposed.findIndex((event, i) => held.get(after + 1n + BigInt(i)) !== event.id);
      if (matching === -1) return this.#idempotent(stream, after + BigInt(proposed.length));
      if (matching > 0) return wrong;
      if (expected === "no_stream" && state?.softDeleted) return { kind: "ok" };
      return wrong;
    }
    return after > current ? wrong : { kind: "ok" };
  }

  #idempotent(stream: string, lastRevision: bigint): Extract<WriteOutcome, { kind: "idempotent" }> {
    const original = this.#streams.get(stream)?.events.find((event) => event.revision === lastRevision);
    return { kind: "idempotent", currentRevision: lastRevision, position: original?.position ?? this.end };
  }

  /** The stream's first append after a soft delete: reads see it again, from the new events on. */
  #undelete(stream: string, state: StreamState): void {
    const from = (state.last ?? -1n) + 1n;
    state.softDeleted = false;
    state.truncateBefore = from;
    this.#writeMetadata(stream, crypto.randomUUID(), from);
  }

  #writeMetadata(stream: string, id: string, truncateBefore: bigint): StoredEvent {
    const meta = this.#state(metadataStream(stream));
    const revision = (meta.last ?? -1n) + 1n;
    // The server writes $tb as a JSON number; 2^63 − 1 does not fit a double, so it is spelled out.
    const data = new TextEncoder().encode(`{"$tb":${truncateBefore}}`);
    const written = this.#write(metadataStream(stream), revision, {
      id,
      type: "$metadata",
      contentType: "application/json",
      data,
      customMetadata: new Uint8Array(),
    });
    meta.last = revision;
    meta.events.push(written);
    this.#announce([written]);
    return written;
  }

  #write(stream: string, revision: bigint, event: ProposedEvent): StoredEvent {
    const offset = this.#nextPosition;
    this.#nextPosition += recordSize(stream, event);
    const stored: StoredEvent = {
      ...event,
      stream,
      revision,
      created: nowInTicks(),
      position: { commit: offset, prepare: offset },
    };
    this.#all.push(stored);
    return stored;
  }

  #state(stream: string): StreamState {
    let state = this.#streams.get(stream);
    if (!state) {
      state = { last: undefined, events: [], truncateBefore: 0n, softDeleted: false, tombstoned: false };
      this.#streams.set(stream, state);
    }
    return state;
  }

  #announce(written: StoredEvent[]): void {
    for (const event of written) for (const listener of this.#listeners) listener(event);
  }
}

export function comparePositions(a: LogPosition, b: LogPosition): number {
  if (a.commit !== b.commit) return a.commit < b.commit ? -1 : 1;
  if (a.prepare !== b.prepare) return a.prepare < b.prepare ? -1 : 1;
  return 0;
}
