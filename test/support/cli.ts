import { once } from "node:events";
import { startCli } from "./processes.js";

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

/** The lines of an export (NDJSON), parsed. */
export const lines = (ndjson: string) =>
  ndjson
    .trimEnd()
    .split("\n")
    .map((text) => JSON.parse(text) as Record<string, string>);
