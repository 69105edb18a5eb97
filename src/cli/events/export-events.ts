import { createWriteStream } from "node:fs";
import { rename, rm } from "node:fs/promises";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { toEventLine } from "../../eventstore/event-line.js";
import type { Checkpoint, EventStore } from "../../eventstore/port.js";
import type { Progress } from "./progress.js";
import { type LogRange, readRange } from "./read-range.js";

/**
 * Writes a range of the log as NDJSON, one event per line, a page at a time: the pipeline waits
 * whenever the destination is full, so memory stays flat for any log size.
 *
 * To a file, the lines go to `<file>.partial` first and the file appears under its own name only
 * once complete: a failed or interrupted export never leaves a file that looks whole.
 */
export async function exportEvents(
  store: EventStore,
  range: LogRange,
  to: { file: string } | { stream: NodeJS.WritableStream },
  progress: Progress,
): Promise<{ events: number; last: Checkpoint | undefined }> {
  let exported = 0;
  let last: Checkpoint | undefined;
  async function* chunks() {
    for await (const page of readRange(store, range, { pageSize: 1_000 })) {
      yield page.map((event) => `${JSON.stringify(toEventLine(event))}\n`).join("");
      exported += page.length;
      last = page.at(-1)?.checkpoint;
      progress.add(page.length);
    }
  }
  if ("stream" in to) {
    // Standard output is not ours to close.
    await pipeline(Readable.from(chunks()), to.stream, { end: false });
    return { events: exported, last };
  }
  const partial = `${to.file}.partial`;
  try {
    await pipeline(Readable.from(chunks()), createWriteStream(partial));
    await rename(partial, to.file);
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
  return { events: exported, last };
}
