/**
 * The benchmark's own PostgreSQL and NATS, on spare ports (fsync on, as initdb leaves it): no
 * other process's load runs in them, so every PostgreSQL process's CPU time is the targets'.
 */
import pg from "pg";
import { startPrivateNats, startPrivatePostgres } from "../../test/support/private-servers.js";
import { findProcess, parentOf } from "./cpu.js";

export type BenchServers = Awaited<ReturnType<typeof startBenchServers>>;

export async function startBenchServers() {
  const postgres = await startPrivatePostgres();
  const nats = await startPrivateNats().catch(async (error) => {
    await postgres.destroy();
    throw error;
  });
  try {
    return {
      postgres,
      nats,
      /** The postmaster: its descendants are every PostgreSQL process (backends included). */
      postgresPid: await postmasterPid(postgres.url),
      natsPid: findProcess(["-p", String(nats.port), "-js"]),
      /** A fresh database for one run; `drop` ends its sessions and removes it. */
      async database(name: string) {
        await postgres.admin(`create database ${name}`);
        return {
          url: postgres.url.replace(/\/postgres$/, `/${name}`),
          drop: () => postgres.admin(`drop database if exists ${name} with (force)`),
        };
      },
      /** Writes out the dirty pages now, so that no run's timed phase pays for an earlier one's. */
      checkpoint: () => postgres.admin("checkpoint"),
      async destroy() {
        await Promise.all([postgres.destroy(), nats.destroy()]);
      },
    };
  } catch (error) {
    await Promise.all([postgres.destroy(), nats.destroy()]);
    throw error;
  }
}

async function postmasterPid(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ pid: number }>("select pg_backend_pid() as pid");
    return parentOf((rows[0] as { pid: number }).pid);
  } finally {
    await client.end();
  }
}
