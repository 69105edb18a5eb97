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
