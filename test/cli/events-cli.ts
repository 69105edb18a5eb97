import { once } from "node:events";
import type { Checkpoint, EventStore, RecordedEvent } from "../../src/eventstore/port.js";
import { startCli } from "../support/processes.js";

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `basket <args>` to its end and keeps what it wrote to each of stdout and stderr. */
export async function runCli(args: string[], env: Record<string, string>): Promise<CliRun> {
  const { child } = startCli(args, env);
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout?.on("data", (chunk: Buffer) => out.push(chunk));
  child.stderr?.on("data", (chunk: Buffer) => err.push(chunk));
  // "close", not "exit": it comes once the pipes are drained too.
  const [code] = (await once(child, "close")) as [number | null];
  return { code, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") };
}

/**
 * The whole global log. A page that comes back empty because a transaction open anywhere on the
 * server (another test's) holds newer events back is read again, not taken for the end.
 */
export async function readEverything(store: EventStore): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  let after: Checkpoint | undefined;
  for (;;) {
    const page = await store.readAll({ after, limit: 1000 });
    if (page.pending) await new Promise((resolve) => setTimeout(resolve, 20));
    else if (page.events.length === 0) return events;
    events.push(...page.events);
    after = page.checkpoint;
  }
}

/** The lines of an export, parsed. */
export const lines = (ndjson: string) =>
  ndjson
    .trimEnd()
    .split("\n")
    .map((text) => JSON.parse(text) as Record<string, string>);
