import type { ExpectedRevision } from "./port.js";

const describe = (revision: ExpectedRevision | bigint): string =>
  typeof revision === "bigint" ? `revision ${revision}` : revision.replace("_", " ");

/** The stream is not at the revision the append expected: someone else wrote first. */
export class WrongExpectedRevision extends Error {
  override readonly name = "WrongExpectedRevision";

  constructor(
    readonly stream: string,
    readonly expected: ExpectedRevision,
    /** The stream's last revision, or "no_stream" when it does not exist. */
    readonly actual: bigint | "no_stream",
  ) {
    super(`Stream ${stream}: expected ${describe(expected)}, found ${describe(actual)}`);
  }
}

/** A checkpoint this backend did not make. */
export class InvalidCheckpoint extends Error {
  override readonly name = "InvalidCheckpoint";

  constructor(readonly checkpoint: string) {
    super(`Not a checkpoint of this event store: ${JSON.stringify(checkpoint)}`);
  }
}

/** The stream was deleted for good (EventStoreDB's hard delete): it can be neither read nor appended to. */
export class StreamDeleted extends Error {
  override readonly name = "StreamDeleted";

  constructor(readonly stream: string) {
    super(`Stream ${stream} is deleted`);
  }
}

/**
 * The store did not answer the append in time: it may or may not have written it (EventStoreDB
 * can commit a write after it answered that the write timed out). Retrying what decided the
 * append, on the stream as it then is, finds out.
 */
export class AppendOutcomeUnknown extends Error {
  override readonly name = "AppendOutcomeUnknown";

  constructor(
    readonly stream: string,
    detail: string,
    options?: ErrorOptions,
  ) {
    super(`The append to ${stream} may or may not have been written: ${detail}`, options);
  }
}

/** The events are more than the store takes in one append; nothing was written. */
export class AppendTooLarge extends Error {
  override readonly name = "AppendTooLarge";

  constructor(
    readonly stream: string,
    /** The append's size as the store counts it, when known. */
    readonly bytes: number | undefined,
    /** The most the store takes in one append. */
    readonly limit: number,
  ) {
    super(
      `The append to ${stream} is too large${bytes === undefined ? "" : ` (${bytes} bytes)`}: the store takes at most ${limit} bytes at once`,
    );
  }
}

/** Events with these ids are stored already; the append wrote nothing. */
export class DuplicateEventId extends Error {
  override readonly name = "DuplicateEventId";

  constructor(
    readonly stream: string,
    readonly ids: string[],
  ) {
    super(`Cannot append to ${stream}: an event with id ${ids.join(" or ")} is stored already`);
  }
}

/**
 * A checkpoint of the right form that the log does not hold: past its end or between two of its
 * records. The store lost events it had (an EventStoreDB whose database started anew), or the
 * checkpoint is another store's. Reading on from it would skip or misread events: a reader stops.
 */
export class CheckpointNotInLog extends Error {
  override readonly name = "CheckpointNotInLog";

  constructor(
    readonly checkpoint: string,
    detail: string,
  ) {
    super(`Checkpoint ${checkpoint} is not in the event store's log: ${detail}`);
  }
}
