/**
 * The event store port: every backend (PostgreSQL, PGlite, EventStoreDB) implements it and
 * passes the same contract suite (test/eventstore/contract.ts).
 *
 * Revisions count from 0 per stream (the first event is revision 0). Revisions and global
 * positions are bigint: a long-lived log can pass 2^53.
 */

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** What an append expects of the stream: that it does not exist yet, that its last revision is this one, or nothing. */
export type ExpectedRevision = "no_stream" | "any" | bigint;

export interface EventMetadata {
  /** The command that produced the event: how a retried command is recognised. */
  commandId?: string;
  correlationId?: string;
  causationId?: string;
  [key: string]: JsonValue | undefined;
}

export interface NewEvent {
  /**
   * A UUID, unique in the store (read back in lowercase); generated when absent. Give one only to
   * keep an event's identity (an import): a store may take repeated ids as a retry (see append).
   */
  id?: string;
  type: string;
  data: JsonValue;
  metadata?: EventMetadata;
  /** When it was recorded; the time of the append when absent. An import gives it, to keep the original. */
  recordedAt?: Date;
}

/**
 * Where a reader of the global log is. Opaque: a reader stores it and hands it back, and only
 * the backend that made it can interpret it (it is not always one number).
 */
export type Checkpoint = string & { readonly __checkpoint: unique symbol };

export interface RecordedEvent {
  id: string;
  stream: string;
  revision: bigint;
  /** The event's position in the global log; log order is checkpoint order, not always position order. */
  position: bigint;
  type: string;
  data: JsonValue;
  metadata: EventMetadata;
  recordedAt: Date;
  /** Hand this back to `readAll` to continue after this event. */
  checkpoint: Checkpoint;
}

export interface AppendResult {
  /** The stream's revision after the append: the revision of its last event. */
  revision: bigint;
  /** The global position of the last appended event. */
  position: bigint;
  events: RecordedEvent[];
}

export interface ReadAllOptions {
  /** Continue after this checkpoint; from the start of the log when absent. */
  after?: Checkpoint | undefined;
  /** At most this many events. */
  limit: number;
  /** Only streams whose name starts with this. */
  streamPrefix?: string | undefined;
}

export interface ReadAllPage {
  events: RecordedEvent[];
  /** Where to continue from: after the last event returned, or as far as the backend scanned. */
  checkpoint: Checkpoint | undefined;
  /**
   * True when the page is empty only because newer events are not safe to read yet (an older
   * transaction is still open): read again shortly rather than wait for a notification.
   */
  pending?: boolean;
}

export interface FollowOptions {
  /** Continue after this checkpoint; from the start of the log when absent. */
  after?: Checkpoint | undefined;
  /** At most this many events a page. */
  limit: number;
  /** Only streams whose name starts with this. */
  streamPrefix?: string | undefined;
  /** How often to look again when no notification came (a backend that pushes events ignores it). */
  pollMs: number;
  /** Stops following: the iteration ends. */
  signal: AbortSignal;
}

export interface LogPage {
  /** Never empty. */
  events: RecordedEvent[];
  /** The checkpoint of the last event. */
  checkpoint: Checkpoint;
}

/**
 * What the stores throw (errors.ts): each writes nothing, except AppendOutcomeUnknown, which
 * cannot tell.
 */
export interface EventStore {
  /**
   * Appends all the events or none. Throws
   * - WrongExpectedRevision when the stream is not as expected — also when the events' ids are
   *   those of events already in the stream (a retry of an append that was written);
   * - DuplicateEventId when an id is that of a stored event, as far as the store looks: PostgreSQL
   *   always; EventStoreDB with "any", for the events it wrote recently (at the stream's own
   *   revision it writes them again);
   * - StreamDeleted when the stream was deleted for good;
   * - AppendTooLarge when the events are more than the store takes at once (an import splits them);
   * - AppendOutcomeUnknown when the store did not answer in time: the events may have been written.
   * An id that is not a UUID, or one given twice, is refused before anything is written.
   */
  append(stream: string, events: NewEvent[], expectedRevision: ExpectedRevision): Promise<AppendResult>;
  /**
   * The stream's events from a revision on (inclusive); a stream that does not exist reads as
   * empty, one deleted for good throws StreamDeleted.
   */
  readStream(stream: string, fromRevision?: bigint): Promise<RecordedEvent[]>;
  /**
   * The global log after a checkpoint, in log order. Records that are not events of this service
   * (another tool's binary data, a deleted stream's tombstone) are passed over. Throws
   * InvalidCheckpoint for a checkpoint not of this store's form, CheckpointNotInLog for one the
   * log does not hold.
   */
  readAll(options: ReadAllOptions): Promise<ReadAllPage>;
  /**
   * Follows the global log after a checkpoint: yields pages of events in log order as they
   * become readable, waiting in between, until the signal aborts. The next page is read only when
   * the consumer asks for it, so a consumer that stores each page's checkpoint before asking for
   * the next one resumes exactly where it left off. Throws when the log cannot be read (a lost
   * connection, a dropped subscription): the consumer follows again from its stored checkpoint —
   * except CheckpointNotInLog, which following again would only repeat.
   */
  follow(options: FollowOptions): AsyncIterable<LogPage>;
  /**
   * Calls `listener` after events may have been appended (possibly by another process).
   * A hint to read again, not a delivery: readers still poll now and then.
   */
  onAppended(listener: () => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}
