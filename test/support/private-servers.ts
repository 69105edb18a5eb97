import { type ChildProcess, execFile, spawn } from "node:child_process";
import { once } from "node:events";
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { onTestProcessEnd } from "./processes.js";

/**
 * PostgreSQL and NATS servers of a test's own, on spare ports — never the shared servers on 5432
 * and 4222: for fault tests that stop and restart them, and for tests that need one configured
 * otherwise (credentials, TLS). `destroy` stops each and removes its
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
export const natsServer = process.env.NATS_SERVER_BIN ?? "/usr/sbin/nats-server";

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

/**
 * A port nobody listens on now, below the kernel's range for outgoing connections
 * (ip_local_port_range): a server stopped and started again on it cannot find it taken by a
 * connection given it as its local port meanwhile — a client reconnecting to the stopped server
 * may even be connected to itself, which `sparePort`'s ports allow.
 */
export async function steadyPort(): Promise<number> {
  const [lowest] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/);
  const below = Number(lowest);
  for (;;) {
    const port = 10_000 + Math.floor(Math.random() * (below - 10_000));
    const server = createServer();
    const bound = await new Promise<boolean>((resolve) => {
      server.once("error", () => resolve(false));
      server.listen(port, "127.0.0.1", () => resolve(true));
    });
    if (!bound) continue;
    server.close();
    await once(server, "close");
    return port;
  }
}

/** Resolves once `ready` does, looking every 50 ms; throws after `timeoutMs`. */
export async function waitUntil(
  what: string,
  ready: () => Promise<boolean>,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ready())) {
    if (Date.now() > deadline) throw new Error(`${what} did not come up in ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export interface PrivatePostgresOptions {
  /** TLS on, with this server certificate and key, and this CA for client certificates. */
  tls?: { serverCert: string; serverKey: string; caFile: string };
  /** pg_hba.conf, line by line (by default initdb's: trust). */
  hba?: string[];
  /**
   * A streaming replica of this server (a hot standby: read-only, replaying the primary's WAL),
   * copied from it with `pg_basebackup -R` instead of made with initdb.
   */
  replicaOf?: PrivatePostgres;
}

export interface PrivatePostgres {
  /** postgres://postgres@127.0.0.1:<port>/postgres — the server's own default database. */
  readonly url: string;
  readonly port: number;
  /** The default database's URL for another user, with a query string (`?sslmode=…`) if given. */
  urlFor(user: string, query?: string): string;
  /** Runs SQL as the superuser, over the cluster's own socket (whatever pg_hba.conf says of TCP). */
  admin(statement: string): Promise<void>;
  /** `fast` lets sessions end cleanly; `immediate` is a crash (recovery from WAL at the next start). */
  stop(mode?: "fast" | "immediate"): Promise<void>;
  start(): Promise<void>;
  restart(mode?: "fast" | "immediate"): Promise<void>;
  /** Stops the server for good and removes its files. */
  destroy(): Promise<void>;
}

/**
 * A PostgreSQL cluster in a temporary folder. PostgreSQL refuses to run as root, so the folder
 * belongs to the `postgres` user and initdb/pg_ctl run as that user when we are root.
 */
export async function startPrivatePostgres(options: PrivatePostgresOptions = {}): Promise<PrivatePostgres> {
  const root = mkdtempSync(join(tmpdir(), "basket-pg-"));
  const data = join(root, "data");
  const sockets = join(root, "sockets");
  mkdirSync(sockets);
  const asRoot = process.getuid?.() === 0;
  const owner = asRoot
    ? {
        uid: Number((await run("id", ["-u", "postgres"])).stdout),
        gid: Number((await run("id", ["-g", "postgres"])).stdout),
      }
    : undefined;
  const own = (path: string) => owner && chownSync(path, owner.uid, owner.gid);
  own(root);
  own(sockets);
  const pgCommand = (tool: string, args: string[]) =>
    asRoot
      ? run("runuser", ["-u", "postgres", "--", join(pgBin, tool), ...args])
      : run(join(pgBin, tool), args);
  const port = await sparePort();
  if (options.replicaOf)
    await pgCommand("pg_basebackup", [
      ...["-h", "127.0.0.1", "-p", String(options.replicaOf.port), "-U", "postgres"],
      ...["-D", data, "-R", "--no-sync"],
    ]);
  else await pgCommand("initdb", ["-D", data, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8"]);
  let settings = `-p ${port} -k ${sockets} -c listen_addresses=127.0.0.1 -c max_connections=200`;
  if (options.tls) {
    const { serverCert, serverKey, caFile } = options.tls;
    for (const [from, to] of [
      [serverCert, "server.crt"],
      [serverKey, "server.key"],
      [caFile, "root.crt"],
    ] as const) {
      copyFileSync(from, join(data, to));
      chmodSync(join(data, to), 0o600);
      own(join(data, to));
    }
    settings += " -c ssl=on -c ssl_ca_file=root.crt";
  }
  if (options.hba) writeFileSync(join(data, "pg_hba.conf"), `${options.hba.join("\n")}\n`);
  const pgCtl = (...args: string[]) => pgCommand("pg_ctl", ["-D", data, "-w", "-t", "60", ...args]);
  let running = false;
  const server: PrivatePostgres = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    urlFor: (user, query = "") => `postgres://${user}@127.0.0.1:${port}/postgres${query}`,
    async admin(statement) {
      const client = new pg.Client({ host: sockets, port, user: "postgres", database: "postgres" });
      await client.connect();
      try {
        await client.query(statement);
      } finally {
        await client.end();
      }
    },
    async start() {
      await pgCtl("-l", join(root, "log"), "-o", settings, "start");
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
  return startedOrDestroyed(server);
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

/**
 * nats-server with JetStream, its store in a temporary folder that outlives restarts; with
 * `configuration`, that configuration file's text too (authorization, tls blocks).
 */
export async function startPrivateNats(options: { configuration?: string } = {}): Promise<PrivateNats> {
  const root = mkdtempSync(join(tmpdir(), "basket-nats-"));
  const port = await sparePort();
  const configFile = join(root, "nats.conf");
  if (options.configuration) writeFileSync(configFile, `${options.configuration}\n`);
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
      const args = ["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", store];
      if (options.configuration) args.unshift("-c", configFile);
      const started = spawn(natsServer, args, {
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
  return startedOrDestroyed(server);
}

/** A server just made, started; one that cannot start is cleaned away before the error goes on. */
async function startedOrDestroyed<Server extends { start(): Promise<void>; destroy(): Promise<void> }>(
  server: Server,
): Promise<Server> {
  try {
    await server.start();
  } catch (error) {
    await server.destroy();
    throw error;
  }
  return server;
}
