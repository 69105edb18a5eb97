import { type ChildProcess, execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { onTestProcessEnd } from "./processes.js";

/**
 * PostgreSQL and NATS servers of a test's own, on spare ports, for fault tests that stop and
 * restart them — never the shared servers on 5432 and 4222. `destroy` stops each and removes its
 * files; whatever a failed test leaves running is killed when the test process ends.
 */

const run = promisify(execFile);
/** Debian's layout: the newest PostgreSQL installed, unless PG_BIN names a bin folder. */
const pgBin =
  process.env.PG_BIN ??
  join(
    "/usr/lib/postgresql",
    (existsSync("/usr/lib/postgresql") ? readdirSync("/usr/lib/postgresql") : ["15"])
      .sort((a, b) => Number(a) - Number(b))
      .at(-1) as string,
    "bin",
  );
const natsServer = process.env.NATS_SERVER_BIN ?? "/usr/sbin/nats-server";

/** A port nobody listens on now (the kernel's pick for port 0). */
export async function sparePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, "close");
  return port;
}

async function waitUntil(what: string, ready: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ready())) {
    if (Date.now() > deadline) throw new Error(`${what} did not come up in ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export interface PrivatePostgres {
  /** postgres://postgres@127.0.0.1:<port>/postgres — the server's own default database. */
  readonly url: string;
  readonly port: number;
  /** `fast` lets sessions end cleanly; `immediate` is a crash (recovery from WAL at the next start). */
  stop(mode?: "fast" | "immediate"): Promise<void>;
  start(): Promise<void>;
  restart(mode?: "fast" | "immediate"): Promise<void>;
  /** Stops the server for good and removes its files. */
  destroy(): Promise<void>;
}

/**
 * A PostgreSQL 15 cluster in a temporary folder. PostgreSQL refuses to run as root, so the
 * folder belongs to the `postgres` user and initdb/pg_ctl run as that user when we are root.
 */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const root = mkdtempSync(join(tmpdir(), "basket-pg-"));
  const data = join(root, "data");
  const sockets = join(root, "sockets");
  mkdirSync(sockets);
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const { stdout } = await run("id", ["-u", "postgres"]);
    const { stdout: group } = await run("id", ["-g", "postgres"]);
    for (const path of [root, sockets]) chownSync(path, Number(stdout), Number(group));
  }
  const pgCommand = (tool: string, args: string[]) =>
    asRoot
      ? run("runuser", ["-u", "postgres", "--", join(pgBin, tool), ...args])
      : run(join(pgBin, tool), args);
  const port = await sparePort();
  await pgCommand("initdb", ["-D", data, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8"]);
  const options = `-p ${port} -k ${sockets} -c listen_addresses=127.0.0.1 -c max_connections=200`;
  const pgCtl = (...args: string[]) => pgCommand("pg_ctl", ["-D", data, "-w", "-t", "60", ...args]);
  let running = false;
  const server: PrivatePostgres = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    async start() {
      await pgCtl("-l", join(root, "log"), "-o", options, "start");
      running = true;
    },
    async stop(mode = "fast") {
      await pgCtl("-m", mode, "stop");
      running = false;
    },
    async restart(mode = "fast") {
      await server.stop(mode);
      await server.start();
    },
    async destroy() {
      forget();
      if (running) await server.stop("immediate").catch(() => {});
      rmSync(root, { recursive: true, force: true });
    },
  };
  // The test process is ending and cannot wait: a detached shell stops the server and cleans up.
  const forget = onTestProcessEnd(() => {
    const pgCtl = `${asRoot ? "runuser -u postgres -- " : ""}${join(pgBin, "pg_ctl")}`;
    const script = `${running ? `${pgCtl} -D "$1" -m immediate stop;` : ""} rm -rf "$2"`;
    spawn("sh", ["-c", script, "sh", data, root], { detached: true, stdio: "ignore" }).unref();
  });
  try {
    await server.start();
  } catch (error) {
    await server.destroy();
    throw error;
  }
  return server;
}

export interface PrivateNats {
  /** nats://127.0.0.1:<port> */
  readonly url: string;
  readonly port: number;
  /** Kills the server (SIGKILL by default: a crash, not a goodbye). */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port; with `freshStore` its JetStream state (streams, KV buckets) is gone. */
  start(options?: { freshStore?: boolean | undefined }): Promise<void>;
  restart(options?: { signal?: NodeJS.Signals | undefined; freshStore?: boolean | undefined }): Promise<void>;
  destroy(): Promise<void>;
}

/** nats-server with JetStream, its store in a temporary folder that outlives restarts. */
export async function startPrivateNats(): Promise<PrivateNats> {
  const root = mkdtempSync(join(tmpdir(), "basket-nats-"));
  const port = await sparePort();
  let store = join(root, "store-0");
  let stores = 0;
  let child: ChildProcess | undefined;
  let log = "";
  const server: PrivateNats = {
    url: `nats://127.0.0.1:${port}`,
    port,
    async start({ freshStore = false } = {}) {
      if (freshStore) store = join(root, `store-${++stores}`);
      log = "";
      const started = spawn(natsServer, ["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", store], {
        stdio: ["ignore", "pipe", "pipe"],
      });
      child = started;
      const collect = (chunk: Buffer) => {
        log += chunk.toString();
      };
      started.stdout?.on("data", collect);
      started.stderr?.on("data", collect);
      await waitUntil("nats-server", async () => {
        if (started.exitCode !== null) throw new Error(`nats-server exited:\n${log}`);
        return log.includes("Server is ready");
      });
    },
    async stop(signal = "SIGKILL") {
      const stopping = child;
      child = undefined;
      if (!stopping || stopping.exitCode !== null) return;
      const exited = once(stopping, "exit");
      stopping.kill(signal);
      await exited;
    },
    async restart({ signal, freshStore } = {}) {
      await server.stop(signal);
      await server.start({ freshStore });
    },
    async destroy() {
      forget();
      await server.stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
  const forget = onTestProcessEnd(() => {
    child?.kill("SIGKILL");
    rmSync(root, { recursive: true, force: true });
  });
  try {
    await server.start();
  } catch (error) {
    await server.destroy();
    throw error;
  }
  return server;
}
