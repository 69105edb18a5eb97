import { AppendTooLarge } from "../../eventstore/errors.js";
import type { EventStore, ExpectedRevision, NewEvent } from "../../eventstore/port.js";

/**
 * Appends one stream's consecutive events, in parts when the store takes fewer bytes at once
 * (AppendTooLarge: EventStoreDB's MaxAppendSize, 1 MiB by default): halves, each expecting the
 * revision the one before ended at, down to single events. Then not all-or-nothing — which an
 * import can afford: it appends in file order and says how far it got. Never throws: tells how
 * many events were written, and what stopped the rest.
 */
export async function appendInParts(
  store: EventStore,
  stream: string,
  events: NewEvent[],
  expected: ExpectedRevision,
): Promise<{ written: number; error?: unknown }> {
  try {
    await store.append(stream, events, expected);
    return { written: events.length };
  } catch (error) {
    if (!(error instanceof AppendTooLarge) || events.length === 1) return { written: 0, error };
  }
  const half = Math.ceil(events.length / 2);
  const first = await appendInParts(store, stream, events.slice(0, half), expected);
  if (first.error !== undefined) return first;
  const continued: ExpectedRevision =
    expected === "no_stream" ? BigInt(half - 1) : (expected as bigint) + BigInt(half);
  const second = await appendInParts(store, stream, events.slice(half), continued);
  return {
    written: first.written + second.written,
    ...(second.error === undefined ? {} : { error: second.error }),
  };
}
