import { constants, createReadStream } from "node:fs";
import { access } from "node:fs/promises";
import { type Command, InvalidArgumentError, Option } from "commander";
import { type Config, ConfigError } from "../config/config.js";
import { toEventLine } from "../eventstore/event-line.js";
import { openStores, type Stores } from "../eventstore/open-stores.js";
import type { Checkpoint } from "../eventstore/port.js";
import { connectNats } from "../nats/connection.js";
import { adminTokenOption, requireOperator } from "./admin.js";
import {
  parseBasketId,
  parseCheckpoint,
  parseHistorySubject,
  parseRate,
  parseRevision,
  parseStreamPrefix,
  parseSubject,
  parseTime,
} from "./events/arguments.js";
import { exportEvents } from "./events/export-events.js";
import {
  formatHistory,
  type HistorySubject,
  historyRows,
  readBasket,
  readHistory,
} from "./events/history.js";
import { importEvents } from "./events/import-events.js";
import { readLines } from "./events/lines.js";
import { type Progress, startProgress } from "./events/progress.js";
import { checkRange } from "./events/range-size.js";
import type { LogRange } from "./events/read-range.js";
import { replayEvents } from "./events/replay-events.js";
import { basketAt, formatPastBasket, pastBasketJson } from "./events/time-travel.js";
import { exitCodes } from "./exit-codes.js";

const checkpointHelp = `
Checkpoints are the opaque strings the store hands out (PostgreSQL and PGlite: <transaction id>:<position>),
e.g. the "checkpoint" field of an exported event. --from <checkpoint> starts after that event (the way a
reader resumes); "start", or no --from, is the beginning of the log. --until <checkpoint> ends with the event
whose checkpoint it is (inclusive), and is refused up front when no event in the range has it. Without
--until the range ends where the log ends when the command gets there.`;

/** `basket events …`: history, time travel, replay, export and import. */
export function registerEventsCommands(program: Command, config: () => Config): void {
  const withStore = async (work: (stores: Stores) => Promise<void>): Promise<void> => {
    const stores = await openStores(config().store);
    try {
      await work(stores);
    } finally {
      await stores.close();
    }
  };
  const events = program
    .command("events")
    .description("Inspect, replay, export and import the event log.")
    .addHelpText(
      "after",
      `
The store comes from the environment as for serve (EVENT_STORE, DATABASE_URL, PGLITE_DATA_DIR; see
docs/configuration.md). PGlite cannot be shared between processes: stop a service using the same
PGLITE_DATA_DIR first.`,
    );

  events
    .command("history")
    .description(
      "A basket's events, or a product's (its price history): revision, time, type and what happened.",
    )
    .argument("<basketId|product-sku>", "a basket's id (a UUID), or product-<sku>", parseHistorySubject)
    .option("--json", "print the events as one JSON array (64-bit numbers as strings)")
    .action(async (subject: HistorySubject, options: { json?: true }) => {
      await withStore(async ({ store }) => {
        const recorded = await readHistory(store, subject);
        if (options.json) console.log(JSON.stringify(recorded.map(toEventLine), null, 2));
        else for (const line of formatHistory(historyRows(subject, recorded))) console.log(line);
      });
    });

  events
    .command("state")
    .description(
      "A basket as it was at a revision or a time, folded from its events with the domain's evolve.",
    )
    .argument("<basketId>", "the basket's id (a UUID)", parseBasketId)
    .addOption(
      new Option("--at-revision <n>", "after the event with this revision (the first is 0)")
        .argParser(parseRevision)
        .conflicts("at"),
    )
    .addOption(
      new Option("--at <time>", "as it was at this ISO 8601 time, e.g. 2025-01-31T12:00:00Z").argParser(
        parseTime,
      ),
    )
    .option("--json", "print JSON: the basket view with revision (a string) and recordedAt")
    .addHelpText(
      "after",
      `
Exactly one of --at-revision and --at. At a time, the basket folds its events in revision order up to the
first one recorded after that time.`,
    )
    .action(
      async (
        basketId: string,
        options: { atRevision?: bigint; at?: Date; json?: true },
        command: Command,
      ) => {
        const point =
          options.atRevision !== undefined
            ? { revision: options.atRevision }
            : options.at !== undefined
              ? { time: options.at }
              : undefined;
        if (!point) {
          command.error("error: give --at-revision <n> or --at <time>", {
            exitCode: exitCodes.badUsage,
            code: "basket.missingPoint",
          });
        }
        await withStore(async ({ store }) => {
          const past = basketAt(basketId, await readBasket(store, basketId), point);
          if (options.json) console.log(JSON.stringify(pastBasketJson(past), null, 2));
          else for (const line of formatPastBasket(past)) console.log(line);
        });
      },
    );

  withRange(
    events
      .command("export")
      .description("Write a range of the log as NDJSON, one event per line, streamed page by page."),
  )
    .option("--out <file>", "write to this file (it appears once complete) instead of standard output")
    .addHelpText(
      "after",
      `
Each line: {"id","stream","revision","position","type","data","metadata","recordedAt","checkpoint"}, 64-bit
numbers as strings, recordedAt ISO 8601. Progress and the summary go to standard error.
${checkpointHelp}`,
    )
    .action(async (options: RangeOptions & { out?: string }) => {
      const range = rangeOf(options);
      await withStore(async ({ store, database, logInDatabase }) => {
        const progress = startProgress(
          "export",
          await checkRange(store, logInDatabase ? database : undefined, range),
        );
        const to = options.out ? { file: options.out } : { stream: process.stdout };
        const { events: count, last } = await tracked(progress, exportEvents(store, range, to, progress));
        console.error(`Exported ${count} events to ${options.out ?? "standard output"}.${resumeHint(last)}`);
      });
    });

  events
    .command("import")
    .description("Append the events of an export, into an empty store unless --into-non-empty.")
    .argument("<file>", 'an export (NDJSON), or "-" for standard input')
    .option("--into-non-empty", "add to a store that already holds events")
    .addOption(adminTokenOption())
    .addHelpText(
      "after",
      `
Keeps each event's id, stream, revision, type, data, metadata and recorded time, and the file's order as
the log's order (positions and checkpoints are the target's own). Lines are checked 500 at a time before any
of them is written: a stream starts at revision 0 or continues the store's last revision. A bad line stops
the import with its number, and nothing of its batch is written. Progress goes to standard error.`,
    )
    .action(async (file: string, options: { intoNonEmpty?: true; adminToken?: string }) => {
      requireOperator("events import", config().access.adminTokens, options.adminToken);
      if (file !== "-") {
        await access(file, constants.R_OK).catch((error: NodeJS.ErrnoException) => {
          throw new Error(`Cannot read ${file}: ${error.code === "ENOENT" ? "no such file" : error.message}`);
        });
      }
      await withStore(async ({ store, appendsInOrder }) => {
        const input = file === "-" ? process.stdin : createReadStream(file);
        const progress = startProgress("import", undefined);
        const result = await tracked(
          progress,
          importEvents(store, readLines(input), {
            intoNonEmpty: options.intoNonEmpty === true,
            appendsInOrder,
            progress,
          }),
        );
        console.log(`Imported ${result.events} events from ${file === "-" ? "standard input" : file}.`);
      });
    });

  withRange(
    events
      .command("replay")
      .description(
        "Publish a range of the log to a NATS subject (NATS_URL), deduplicated by JetStream when bound.",
      ),
  )
    .requiredOption("--subject <subject>", "the NATS subject to publish on", parseSubject)
    .option("--rate <messages/s>", "publish at most this many messages a second", parseRate)
    .addOption(adminTokenOption())
    .addHelpText(
      "after",
      `
Each message is the event as an export line, with the header Nats-Msg-Id: <event id>. When a JetStream
stream captures the subject, messages are published to it and acknowledged, and the stream drops an id it
has already stored within its duplicate window: replaying a range twice stores each event once. Otherwise
they are core NATS publishes. A progress bar (a terminal) or lines (otherwise) go to standard error.
${checkpointHelp}`,
    )
    .action(async (options: RangeOptions & { subject: string; rate?: number; adminToken?: string }) => {
      requireOperator("events replay", config().access.adminTokens, options.adminToken);
      const range = rangeOf(options);
      const { nats } = config();
      if (!nats)
        throw new ConfigError("NATS_URL is required for events replay (e.g. nats://127.0.0.1:4222).");
      await withStore(async ({ store, database, logInDatabase }) => {
        const total = await checkRange(store, logInDatabase ? database : undefined, range);
        const nc = await connectNats(nats.servers, nats.connection, { name: "basket-events-replay" });
        try {
          const progress = startProgress("replay", total);
          const summary = await tracked(progress, replayEvents(store, nc, range, options, progress));
          const via = summary.jetStream
            ? `JetStream stream ${summary.jetStream}: ${summary.stored} stored, ${summary.duplicates} duplicates dropped`
            : "core NATS: no JetStream stream captures the subject";
          console.log(
            `Replayed ${summary.events} events to ${options.subject} (${via}).${resumeHint(summary.last)}`,
          );
        } finally {
          await nc.drain().catch(() => nc.close());
        }
      });
    });
}

interface RangeOptions {
  from?: Checkpoint | undefined;
  until?: Checkpoint | undefined;
  streamPrefix?: string;
}

const rangeOf = (options: RangeOptions): LogRange => ({
  from: options.from,
  until: options.until,
  streamPrefix: options.streamPrefix,
});

function parseUntil(value: string): Checkpoint {
  const checkpoint = parseCheckpoint(value);
  if (!checkpoint)
    throw new InvalidArgumentError('"start" is where a range begins; --until is a checkpoint.');
  return checkpoint;
}

const resumeHint = (last: Checkpoint | undefined) =>
  last ? ` Last checkpoint: ${last} (--from it to go on).` : "";

/** The work's outcome, with its progress ended either way. */
async function tracked<T>(progress: Progress, work: Promise<T>): Promise<T> {
  try {
    const result = await work;
    progress.stop();
    return result;
  } catch (error) {
    progress.stop({ failed: true });
    throw error;
  }
}

/** --from, --until and --stream-prefix: the range of the log that export and replay work on. */
function withRange(command: Command): Command {
  return command
    .option(
      "--from <checkpoint>",
      'start after this checkpoint; "start" for the beginning (the default)',
      parseCheckpoint,
    )
    .option("--until <checkpoint>", "end with the event that has this checkpoint (inclusive)", parseUntil)
    .option(
      "--stream-prefix <prefix>",
      "only streams whose name starts with this, e.g. basket-",
      parseStreamPrefix,
    );
}
