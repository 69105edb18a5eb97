import type { Checkpoint, EventStore, RecordedEvent } from "../../eventstore/port.js";

export interface LogRange {
  /** Start after the event with this checkpoint; at the beginning of the log when absent. */
  from?: Checkpoint | undefined;
  /** Stop after the event with this checkpoint (inclusive); at the end of the log when absent. */
  until?: Checkpoint | undefined;
  streamPrefix?: string | undefined;
}

export interface ReadRangeOptions {
  pageSize?: number;
  /** How long to wait for events an open transaction holds back before giving up. */
  heldBackTimeoutMs?: number;
}

/**
 * A range of the global log, page by page, so a reader holds one page at a time whatever the
 * log's size.
 *
 * Checkpoints are opaque, so `until` is found by equality: the range ends with the event whose
 * checkpoint it is. A log that ends without that event is an error, raised once the end is
 * reached — range-size.ts lets callers find out before they start. Without `until` the range
 * ends where the log ends when the reader gets there; events that an open transaction holds back
 * (`pending`) are waited for, not skipped.
 */
export async function* readRange(
  store: EventStore,
  range: LogRange,
  { pageSize = 500, heldBackTimeoutMs = 30_000 }: ReadRangeOptions = {},
): AsyncGenerator<RecordedEvent[]> {
  let after = range.from;
  let heldBackSince: number | undefined;
  for (;;) {
    const page = await store.readAll({ after, limit: pageSize, streamPrefix: range.streamPrefix });
    if (page.events.length === 0) {
      if (page.pending) {
        heldBackSince ??= Date.now();
        if (Date.now() - heldBackSince > heldBackTimeoutMs) {
          throw new Error(
            `Newer events are held back by a transaction open for over ${heldBackTimeoutMs / 1000} s; try again later.`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
        continue;
      }
      if (range.until) throw untilNotFound(range);
      return;
    }
    heldBackSince = undefined;
    const last = range.until ? page.events.findIndex((event) => event.checkpoint === range.until) : -1;
    if (last >= 0) {
      yield page.events.slice(0, last + 1);
      return;
    }
    yield page.events;
    after = page.checkpoint;
  }
}

export function untilNotFound(range: LogRange): Error {
  const streams = range.streamPrefix ? ` of a stream starting with ${range.streamPrefix}` : "";
  return new Error(
    `--until ${range.until} is not the checkpoint of an event${streams} after ${range.from ? `--from ${range.from}` : "the start of the log"}.`,
  );
}
