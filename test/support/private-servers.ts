import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { chmodSync, chownSync, copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import pg from "pg";

/**
 * Private NATS and PostgreSQL servers on spare ports, for tests that need a server configured
 * otherwise than the shared ones (credentials, TLS). Never the shared 4222 and 5432.
 */

const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, "close");
  return port;
}

async function started(child: ChildProcess, ready: RegExp, what: string): Promise<void> {
  running.add(child);
  child.once("exit", () => running.delete(child));
  let output = "";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not start:\n${output}`)), 20_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (ready.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (${code}):\n${output}`));
    });
  });
}

async function stop(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  child.kill(signal);
  await exited;
}

/** nats-server with this configuration file text (its `listen` is added). */
export async function startPrivateNats(dir: string, configuration: string) {
  const port = await freePort();
  const file = join(dir, `nats-${port}.conf`);
  writeFileSync(file, `listen: 127.0.0.1:${port}\n${configuration}\n`);
  const child = spawn("nats-server", ["-c", file], { stdio: ["ignore", "pipe", "pipe"] });
  await started(child, /Server is ready/, "nats-server");
  return { port, stop: () => stop(child, "SIGTERM") };
}

/**
 * A PostgreSQL cluster of the test's own in `dir`, with TLS on (the server certificate given)
 * and the given pg_hba.conf lines. PostgreSQL refuses to run as root: as root, it runs as the
 * `postgres` user.
 */
export async function startPrivatePostgres(
  dir: string,
  options: { serverCert: string; serverKey: string; caFile: string; hba: string[] },
) {
  const port = await freePort();
  const data = join(dir, `pg-${port}`);
  mkdirSync(data, { mode: 0o700 });
  const asRoot = process.getuid?.() === 0;
  const owner = asRoot ? { uid: Number(id("-u")), gid: Number(id("-g")) } : undefined;
  const own = (path: string) => owner && chownSync(path, owner.uid, owner.gid);
  own(dir);
  own(data);
  execFileSync("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"], {
    stdio: "pipe",
    ...(owner ?? {}),
  });
  for (const [from, to] of [
    [options.serverCert, "server.crt"],
    [options.serverKey, "server.key"],
    [options.caFile, "root.crt"],
  ] as const) {
    copyFileSync(from, join(data, to));
    chmodSync(join(data, to), 0o600);
    own(join(data, to));
  }
  writeFileSync(join(data, "pg_hba.conf"), `${options.hba.join("\n")}\n`);
  const child = spawn(
    "postgres",
    [
      "-D",
      data,
      "-p",
      String(port),
      "-c",
      "listen_addresses=127.0.0.1",
      "-c",
      `unix_socket_directories=${data}`,
      "-c",
      "ssl=on",
      "-c",
      "ssl_ca_file=root.crt",
      "-c",
      "fsync=off",
      "-c",
      "max_connections=20",
    ],
    { stdio: ["ignore", "pipe", "pipe"], ...(owner ?? {}) },
  );
  await started(child, /database system is ready to accept connections/, "postgres");
  return {
    port,
    url: (user: string, query = "") => `postgres://${user}@127.0.0.1:${port}/postgres${query}`,
    /** Runs SQL as the superuser, over the cluster's own socket. */
    async admin(statement: string) {
      const client = new pg.Client({ host: data, port, user: "postgres", database: "postgres" });
      await client.connect();
      try {
        await client.query(statement);
      } finally {
        await client.end();
      }
    },
    stop: () => stop(child, "SIGINT"),
  };
}

const id = (flag: "-u" | "-g") => execFileSync("id", [flag, "postgres"]).toString().trim();
