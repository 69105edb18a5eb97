import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { buildCliIfStale, builtCli } from "./built-cli.js";

const root = new URL("../../", import.meta.url).pathname;

const cleanUps = new Set<() => void>();
const cleanUpAll = () => {
  for (const cleanUp of cleanUps) cleanUp();
  cleanUps.clear();
};
process.once("exit", cleanUpAll);
// Vitest ends a test process that timed out with SIGTERM, and no "exit" comes then.
process.once("SIGTERM", () => {
  cleanUpAll();
  if (process.listenerCount("SIGTERM") === 0) process.kill(process.pid, "SIGTERM");
});

/**
 * Runs `cleanUp` when the test process ends, however it ends, unless the returned function
 * (call it once cleaned up) says it is no longer needed: a failed or timed-out test leaks no
 * child process or server.
 */
export function onTestProcessEnd(cleanUp: () => void): () => void {
  cleanUps.add(cleanUp);
  return () => cleanUps.delete(cleanUp);
}

export interface ServiceProcess {
  child: ChildProcess;
  /** Every line the process logged, parsed where it was JSON. */
  lines: Record<string, unknown>[];
  /** Resolves with the first log line that satisfies `match`. */
  waitFor(
    match: (line: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  exited: Promise<number | null>;
}

/** Runs `basket <args>` (the real CLI, as built in dist/) with the given environment. */
export function startCli(args: string[], env: Record<string, string>): ServiceProcess {
  buildCliIfStale();
  return startNode(["--enable-source-maps", builtCli, ...args], env, root);
}

/** Runs `node <args>` in `cwd` with the given environment: a CLI installed elsewhere, say. */
export function startNode(args: string[], env: Record<string, string>, cwd: string): ServiceProcess {
  const child = spawn(process.execPath, args, {
    cwd,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: Record<string, unknown>[] = [];
  const waiters = new Set<{
    match: (line: Record<string, unknown>) => boolean;
    resolve: (line: Record<string, unknown>) => void;
  }>();
  const onLine = (text: string) => {
    let line: Record<string, unknown>;
    try {
      line = JSON.parse(text);
    } catch {
      line = { msg: text };
    }
    lines.push(line);
    for (const waiter of waiters) if (waiter.match(line)) waiter.resolve(line);
  };
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", onLine);
  createInterface({ input: child.stderr as NodeJS.ReadableStream }).on("line", onLine);
  const forget = onTestProcessEnd(() => child.kill("SIGKILL"));
  const exited = once(child, "exit").then(([code]) => {
    forget();
    return code as number | null;
  });
  return {
    child,
    lines,
    exited,
    waitFor(match, timeoutMs = 20_000) {
      const seen = lines.find(match);
      if (seen) return Promise.resolve(seen);
      const log = () => lines.map((line) => JSON.stringify(line)).join("\n");
      return new Promise((resolve, reject) => {
        const settle = (error?: Error, line?: Record<string, unknown>) => {
          clearTimeout(timer);
          waiters.delete(waiter);
          if (error) reject(error);
          else resolve(line as Record<string, unknown>);
        };
        const waiter = { match, resolve: (line: Record<string, unknown>) => settle(undefined, line) };
        const timer = setTimeout(
          () => settle(new Error(`No matching log line in ${timeoutMs} ms; got:\n${log()}`)),
          timeoutMs,
        );
        waiters.add(waiter);
        exited.then(() =>
          setTimeout(() => waiters.has(waiter) && settle(new Error(`Process exited; log:\n${log()}`)), 50),
        );
      });
    },
  };
}

/** Where a `basket serve` process listens, from its "basket service (<role>) at <url>" line. */
export async function listeningUrl(service: ServiceProcess, timeoutMs = 30_000): Promise<string> {
  const line = await service.waitFor(
    (entry) => /^basket service \(\w+\) at http/.test(String(entry.msg)),
    timeoutMs,
  );
  return /at (http:\/\/\S+)/.exec(String(line.msg))?.[1] as string;
}
