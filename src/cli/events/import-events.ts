import { basketStreamPrefix } from "../../aggregates/basket/index.js";
import { productStreamPrefix } from "../../aggregates/product/index.js";
import { toBasketEvent, toProductEvent, UnreadableEvent } from "../../events/index.js";
import { type ImportedEvent, InvalidEventLine, parseEventLine } from "../../eventstore/event-line.js";
import type { EventStore, ExpectedRevision, NewEvent } from "../../eventstore/port.js";
import { appendInParts } from "./append-in-parts.js";
import type { Progress } from "./progress.js";

export interface ImportOptions {
  /** Add to a store that already holds events (each stream must start at 0 or continue where it is). */
  intoNonEmpty: boolean;
  /** Lines checked together before any of them is written. */
  batchSize?: number;
  /**
   * Whether the store keeps appends handed over together in the order they were made (see
   * open-store.ts); when not (EventStoreDB), each append waits for the one before.
   */
  appendsInOrder?: boolean;
  progress: Progress;
}

export interface ImportResult {
  events: number;
  lines: number;
}

interface Numbered {
  line: number;
  event: ImportedEvent;
}

/**
 * Appends the events of an export, keeping their ids, streams, revisions, metadata, recorded times
 * and order: the order of the lines becomes the order of the target's log.
 *
 * Lines go in batches. A batch is checked whole — each line's shape, ids unique, each stream's
 * revisions continuous from where the store has it (0 for a new stream) — before any of it is
 * written, so a bad line stops the import with its number and nothing of its batch in the store.
 * Each append then names the exact revision it continues: should anything else write to a stream
 * meanwhile, the append fails loudly instead of interleaving.
 *
 * A stream's consecutive lines go in one append (in parts when they are more bytes than the
 * store takes at once: append-in-parts.ts). Appends of different streams are handed to the
 * store together, in line order, up to the next line of a stream already in hand; the store
 * writes them in that order with one transaction at a time (see open-store.ts), so the log
 * keeps the file's order even where streams interleave.
 */
export async function importEvents(
  store: EventStore,
  lines: AsyncIterable<string>,
  { intoNonEmpty, batchSize = 500, appendsInOrder = true, progress }: ImportOptions,
): Promise<ImportResult> {
  if (!intoNonEmpty) await requireEmpty(store);
  let imported = 0;
  let lastImportedLine = 0;
  let lineNumber = 0;
  let batch: Numbered[] = [];
  const stop = (line: number, problem: string) =>
    new Error(
      `Line ${line}: ${problem}. ${
        imported === 0
          ? "Nothing was imported."
          : `${imported} events were imported (lines 1 to ${lastImportedLine}); nothing after line ${lastImportedLine} was.`
      }`,
    );
  const flush = async () => {
    const problem = await checkBatch(store, batch);
    if (problem) throw stop(problem.line, problem.message);
    const outcome = await appendInLineOrder(store, batch, appendsInOrder);
    imported += outcome.written;
    if (outcome.refused) {
      const { run, reason } = outcome.refused;
      const first = run[0] as Numbered;
      // Checked as it was, the batch went in append by append: those before this one stay written.
      throw new Error(
        `Line ${first.line}: the store refused stream ${first.event.stream} (lines ${first.line} to ${run.at(-1)?.line}): ${reason}. ` +
          `${imported} events were imported, ${outcome.written} of them from this batch (lines ${batch[0]?.line} to ${batch.at(-1)?.line}).`,
      );
    }
    lastImportedLine = batch.at(-1)?.line ?? lastImportedLine;
    progress.add(batch.length);
    batch = [];
  };

  for await (const text of lines) {
    lineNumber++;
    if (text.trim() === "") continue;
    let event: ImportedEvent;
    try {
      event = parseEventLine(text);
      readableAsStored(event);
    } catch (error) {
      if (error instanceof InvalidEventLine || error instanceof UnreadableEvent)
        throw stop(lineNumber, error.message);
      throw error;
    }
    batch.push({ line: lineNumber, event });
    if (batch.length >= batchSize) await flush();
  }
  if (batch.length > 0) await flush();
  return { events: imported, lines: lineNumber };
}

async function requireEmpty(store: EventStore): Promise<void> {
  const page = await store.readAll({ limit: 1 });
  if (page.events.length > 0 || page.pending) {
    throw new Error(
      "The event store is not empty: import fills an empty store (--into-non-empty adds to this one).",
    );
  }
}

/** The first line of the batch that cannot go in, and why. */
async function checkBatch(
  store: EventStore,
  batch: Numbered[],
): Promise<{ line: number; message: string } | undefined> {
  const firstOfStream = new Map<string, Numbered>();
  for (const numbered of batch) {
    if (!firstOfStream.has(numbered.event.stream)) firstOfStream.set(numbered.event.stream, numbered);
  }
  const storeProblems = new Map<string, string>();
  await eachAtMost(8, [...firstOfStream.values()], async ({ event }) => {
    const problem = await continuityWithStore(store, event);
    if (problem) storeProblems.set(event.stream, problem);
  });

  const next = new Map<string, bigint>();
  const idLines = new Map<string, number>();
  for (const { line, event } of batch) {
    const seen = idLines.get(event.id);
    if (seen !== undefined) return { line, message: `id ${event.id} is already the id of line ${seen}` };
    idLines.set(event.id, line);
    const expected = next.get(event.stream);
    const problem =
      expected === undefined
        ? storeProblems.get(event.stream)
        : event.revision === expected
          ? undefined
          : `revision ${event.revision} of stream ${event.stream} does not follow revision ${expected - 1n} (expected ${expected})`;
    if (problem) return { line, message: problem };
    next.set(event.stream, event.revision + 1n);
  }
  return undefined;
}

/** Whether the stream's first event in a batch continues the stream as the store has it. */
async function continuityWithStore(store: EventStore, event: ImportedEvent): Promise<string | undefined> {
  const { stream, revision } = event;
  // From the revision before: exactly that one event when the line continues the stream.
  const around = await store.readStream(stream, revision === 0n ? 0n : revision - 1n);
  if (revision === 0n ? around.length === 0 : around.length === 1) return undefined;
  const last =
    around.length > 0 ? around.at(-1)?.revision : (await store.readStream(stream)).at(-1)?.revision;
  if (last === undefined) {
    return `stream ${stream} starts at revision ${revision}, but the store has no such stream (a new stream starts at 0)`;
  }
  if (revision === 0n)
    return `stream ${stream} starts at revision 0, but the store already has it up to revision ${last}`;
  return `stream ${stream} goes on at revision ${revision}, but the store has it up to revision ${last} (the next is ${last + 1n})`;
}

/** Appends the batch in line order; stops at the first append the store refuses. */
async function appendInLineOrder(
  store: EventStore,
  batch: Numbered[],
  together: boolean,
): Promise<{ written: number; refused?: { run: Numbered[]; reason: string } }> {
  const runs: Numbered[][] = [];
  for (const numbered of batch) {
    const run = runs.at(-1);
    if (run && run[0]?.event.stream === numbered.event.stream) run.push(numbered);
    else runs.push([numbered]);
  }
  let written = 0;
  let wave: Numbered[][] = [];
  const send = async () => {
    const outcomes = await Promise.all(
      wave.map((run) => {
        const first = (run[0] as Numbered).event;
        const expected: ExpectedRevision = first.revision === 0n ? "no_stream" : first.revision - 1n;
        return appendInParts(store, first.stream, run.map(toNewEvent), expected);
      }),
    );
    let refused: { run: Numbered[]; reason: string } | undefined;
    outcomes.forEach((outcome, i) => {
      written += outcome.written;
      if (outcome.error !== undefined)
        refused ??= { run: wave[i] as Numbered[], reason: (outcome.error as Error).message };
    });
    wave = [];
    return refused;
  };
  const inWave = new Set<string>();
  for (const run of runs) {
    const stream = (run[0] as Numbered).event.stream;
    if (inWave.has(stream) || (!together && wave.length > 0)) {
      const refused = await send();
      if (refused) return { written, refused };
      inWave.clear();
    }
    wave.push(run);
    inWave.add(stream);
  }
  const refused = await send();
  return refused ? { written, refused } : { written };
}

const toNewEvent = ({ event: { id, type, data, metadata, recordedAt } }: Numbered): NewEvent => ({
  id,
  type,
  data,
  metadata,
  recordedAt,
});

async function eachAtMost<T>(limit: number, items: T[], work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * An event of one of our streams must be one this code can read, in any version it was ever
 * stored in (it is stored as given, and read through the upcasters like any other).
 */
function readableAsStored(event: ImportedEvent): void {
  if (event.stream.startsWith(basketStreamPrefix)) toBasketEvent(event);
  else if (event.stream.startsWith(productStreamPrefix)) toProductEvent(event);
}
