/**
 * The EventStoreDB test double's storage: one transaction log in memory, with the semantics the
 * server gives its gRPC clients (see streams-service.ts for the wire). Test-only.
 */

/** An `$all` position. For events not written in an explicit transaction, commit = prepare = the record's log position. */
export interface LogPosition {
  commit: bigint;
  prepare: bigint;
}

export interface StoredEvent {
  stream: string;
  revision: bigint;
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

export type AppendOutcome =
  | { ok: true; last: StoredEvent | undefined; currentRevision: bigint | undefined }
  | { ok: false; currentRevision: bigint | undefined };

export interface MemoryLogOptions {
  /** Where the log's positions start: a double can hand out positions above 2^53 from its first event. */
  firstPosition?: bigint;
}

/** A log record's size on disk, roughly: positions are byte offsets in the transaction log, not counters. */
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

export class MemoryLog {
  readonly #all: StoredEvent[] = [];
  readonly #streams = new Map<string, StoredEvent[]>();
  /** Streams that exist with their earlier events gone (seeded high, as a truncated stream reads). */
  readonly #lastRevision = new Map<string, bigint>();
  readonly #listeners = new Set<(event: StoredEvent) => void>();
  #nextPosition: bigint;

  constructor(options: MemoryLogOptions = {}) {
    this.#nextPosition = options.firstPosition ?? 0n;
  }

  lastRevisionOf(stream: string): bigint | undefined {
    return this.#lastRevision.get(stream);
  }

  /** Checks the expected state and writes all the events or none, as one write. */
  append(stream: string, expected: ExpectedState, proposed: ProposedEvent[]): AppendOutcome {
    const current = this.#lastRevision.get(stream);
    const matches =
      expected === "any" ||
      (expected === "no_stream" && current === undefined) ||
      (expected === "stream_exists" && current !== undefined) ||
      (typeof expected === "object" && expected.revision === current);
    if (!matches) return { ok: false, currentRevision: current };
    let revision = current ?? -1n;
    const created = nowInTicks();
    const written = proposed.map((event): StoredEvent => {
      revision++;
      const position = this.#nextPosition;
      this.#nextPosition += recordSize(stream, event);
      return { ...event, stream, revision, created, position: { commit: position, prepare: position } };
    });
    for (const event of written) this.#store(event);
    const last = written.at(-1);
    if (last) this.#lastRevision.set(stream, last.revision);
    for (const event of written) for (const listener of this.#listeners) listener(event);
    return { ok: true, last, currentRevision: last?.revision ?? current };
  }

  /**
   * A stream that already stands at `lastRevision` before the test begins (a long-lived store),
   * holding only the given events, which end at that revision.
   */
  seedStream(stream: string, lastRevision: bigint, proposed: ProposedEvent[]): void {
    if (this.#lastRevision.has(stream)) throw new Error(`${stream} exists already`);
    this.#lastRevision.set(stream, lastRevision - BigInt(proposed.length));
    const outcome = this.append(stream, "stream_exists", proposed);
    if (!outcome.ok) throw new Error(`could not seed ${stream}`);
  }

  /** Undefined when the stream does not exist. */
  readStream(stream: string): StoredEvent[] | undefined {
    if (!this.#lastRevision.has(stream)) return undefined;
    return this.#streams.get(stream) ?? [];
  }

  /** The whole log, in position order. */
  get all(): readonly StoredEvent[] {
    return this.#all;
  }

  /** The position the next write will get: where a reader "from the end" starts. */
  get end(): LogPosition {
    return { commit: this.#nextPosition, prepare: this.#nextPosition };
  }

  /** Index of the first event at or after the position. */
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

  /** Calls `listener` with each event written from now on; returns how to stop. */
  onAppended(listener: (event: StoredEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #store(event: StoredEvent): void {
    this.#all.push(event);
    const stream = this.#streams.get(event.stream) ?? [];
    stream.push(event);
    this.#streams.set(event.stream, stream);
  }
}

export function comparePositions(a: LogPosition, b: LogPosition): number {
  if (a.commit !== b.commit) return a.commit < b.commit ? -1 : 1;
  if (a.prepare !== b.prepare) return a.prepare < b.prepare ? -1 : 1;
  return 0;
}
