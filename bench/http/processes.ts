/**
 * The targets' processes: node programs on a port of their own, their output in a log file (as a
 * deployment's would go to its journal), ready once GET <readyPath> answers 200.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { closeSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { sparePort } from "../../test/support/private-servers.js";
import { onTestProcessEnd } from "../../test/support/processes.js";

export const repositoryRoot = new URL("../../", import.meta.url).pathname;

export interface BenchProcess {
  name: string;
  pid: number;
  url: string;
  /** SIGTERM, as a deployment stops it; SIGKILL if it has not ended in 15 s. */
  stop(): Promise<void>;
}

export async function startNodeProcess(options: {
  name: string;
  /** node's arguments: flags, the script, its arguments. */
  args: string[];
  env: Record<string, string>;
  logDir: string;
  readyPath: string;
  timeoutMs?: number;
}): Promise<BenchProcess> {
  const port = await sparePort();
  const logFile = join(options.logDir, `${options.name}.log`);
  const log = openSync(logFile, "a");
  const child = spawn(process.execPath, options.args, {
    cwd: repositoryRoot,
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      HOST: "127.0.0.1",
      PORT: String(port),
      ...options.env,
    },
    stdio: ["ignore", log, log],
  });
  closeSync(log);
  const forget = onTestProcessEnd(() => child.kill("SIGKILL"));
  const exited = once(child, "exit").then(() => forget());
  const url = `http://127.0.0.1:${port}`;
  const started: BenchProcess = {
    name: options.name,
    pid: child.pid as number,
    url,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
  const deadline = Date.now() + (options.timeoutMs ?? 120_000);
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`${options.name} ended while starting; its log:\n${readFileSync(logFile, "utf8")}`);
    const status = await fetch(`${url}${options.readyPath}`).then(
      (response) => response.status,
      () => 0,
    );
    if (status === 200) return started;
    if (Date.now() > deadline) {
      await started.stop();
      throw new Error(`${options.name} was not ready in time; its log:\n${readFileSync(logFile, "utf8")}`);
    }
    await sleep(100);
  }
}

/** Runs a node program to its end (e.g. `basket migrate`); its output goes to the log folder too. */
export async function runNodeProgram(
  name: string,
  args: string[],
  env: Record<string, string>,
  logDir: string,
) {
  const log = openSync(join(logDir, `${name}.log`), "a");
  const child = spawn(process.execPath, args, {
    cwd: repositoryRoot,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
    stdio: ["ignore", log, log],
  });
  closeSync(log);
  const [code] = await once(child, "exit");
  if (code !== 0)
    throw new Error(
      `${name} exited with ${code}; its log:\n${readFileSync(join(logDir, `${name}.log`), "utf8")}`,
    );
}
