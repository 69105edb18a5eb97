/**
 * What bench/http.ts measures: this service as separate processes on PostgreSQL and NATS, the
 * same service as one process on PGlite, and the Emmett peer on PostgreSQL. Each starts fresh
 * for every run (a new database, subjects, data folder) and names the processes whose CPU counts.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildCliIfStale, builtCli } from "../../test/support/built-cli.js";
import type { Counted } from "./cpu.js";
import { benchAdminToken, type Dialect, emmettDialect, serviceDialect } from "./dialects.js";
import { type BenchProcess, runNodeProgram, startNodeProcess } from "./processes.js";
import type { BenchServers } from "./servers.js";
import type { TargetKey } from "./settings.js";

export interface TargetContext {
  servers: BenchServers;
  /** Unique within the benchmark: names the run's database and subjects. */
  run: number;
  inFlight: number;
  /** Added to every process's environment (BENCH_ENV_<TARGET>). */
  env: Record<string, string>;
  /** Flags for node in every measured process (BENCH_NODE_ARGS). */
  nodeArgs: string[];
  logDir: string;
}

export interface RunningTarget {
  /** Where the load sends its requests: one URL, or several that take turns (one per API process). */
  url: string | readonly string[];
  dialect: Dialect;
  /** The processes whose CPU time is counted, the servers it uses included. */
  counted: Counted[];
  /** Before the timed phase: a checkpoint of the PostgreSQL it uses, if any. */
  settle(): Promise<void>;
  /** Counters of its own, read before and after the adds (the workers' cache hits, say). */
  counters?(): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

export interface Target {
  key: TargetKey;
  label: string;
  start(context: TargetContext): Promise<RunningTarget>;
}

/** What every process of this service gets in a benchmark, besides its servers. */
export const serviceEnv = {
  BASKET_TOKEN_SECRETS: "bench-basket-token-secret-0123456789abcdef",
  ADMIN_TOKENS: benchAdminToken,
  // The load comes from one address but stands for many shoppers.
  RATE_LIMIT_MAX: "0",
};

/** node's arguments for `basket serve --role <role>`, built. */
export const serveArgs = (nodeArgs: string[], role: string) => [
  ...nodeArgs,
  builtCli,
  "serve",
  "--role",
  role,
];

/** This service as deployed: an API, a worker and a projector (which runs the relay too). */
export const separateProcesses: Target = {
  key: "services",
  label: "api + worker + projector, PostgreSQL + NATS",
  async start({ servers, run, env, nodeArgs, logDir }) {
    buildCliIfStale();
    const database = await servers.database(`bench_services_${run}`);
    const processEnv = {
      ...serviceEnv,
      DATABASE_URL: database.url,
      NATS_URL: servers.nats.url,
      NATS_SUBJECT_PREFIX: `bench${run}`,
      MIGRATE_ON_START: "false",
      ...env,
    };
    const started: BenchProcess[] = [];
    try {
      await runNodeProgram(`migrate-${run}`, [builtCli, "migrate"], processEnv, logDir);
      for (const role of ["worker", "projector", "api"]) {
        const name = `${role}-${run}`;
        started.push(
          await startNodeProcess({
            name,
            args: serveArgs(nodeArgs, role),
            env: processEnv,
            logDir,
            readyPath: "/health/ready",
          }),
        );
      }
    } catch (error) {
      await Promise.all(started.map((service) => service.stop()));
      await database.drop();
      throw error;
    }
    const [worker, projector, api] = started as [BenchProcess, BenchProcess, BenchProcess];
    return {
      url: api.url,
      dialect: serviceDialect,
      counted: [
        { name: "api", pid: api.pid },
        { name: "worker", pid: worker.pid },
        { name: "projector", pid: projector.pid },
        { name: "PostgreSQL", pid: servers.postgresPid },
        { name: "NATS", pid: servers.natsPid },
      ],
      settle: servers.checkpoint,
      async stop() {
        await Promise.all(started.map((service) => service.stop()));
        await database.drop();
      },
    };
  },
};

/** This service as `npm start` runs it: one process, PGlite in a data folder, no NATS. */
export const embedded: Target = {
  key: "pglite",
  label: "serve --role all, PGlite",
  async start({ run, env, nodeArgs, logDir }) {
    buildCliIfStale();
    const dataDir = mkdtempSync(join(tmpdir(), "bench-pglite-"));
    const all = await startNodeProcess({
      name: `all-${run}`,
      args: serveArgs(nodeArgs, "all"),
      env: { ...serviceEnv, PGLITE_DATA_DIR: dataDir, ...env },
      logDir,
      readyPath: "/health/ready",
    }).catch((error) => {
      rmSync(dataDir, { recursive: true, force: true });
      throw error;
    });
    return {
      url: all.url,
      dialect: serviceDialect,
      counted: [{ name: "all", pid: all.pid }],
      settle: async () => {},
      async stop() {
        await all.stop();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  },
};

/** Emmett's web sample behind fastify (bench/http/emmett-peer), on the same PostgreSQL. */
export const emmettPeer: Target = {
  key: "emmett",
  label: "Emmett peer, PostgreSQL",
  async start({ servers, run, inFlight, env, nodeArgs, logDir }) {
    const database = await servers.database(`bench_emmett_${run}`);
    const peer = await startNodeProcess({
      name: `emmett-${run}`,
      args: [...nodeArgs, "--import", "tsx", "bench/http/emmett-peer/server.ts"],
      env: { DATABASE_URL: database.url, DATABASE_POOL_SIZE: String(inFlight), ...env },
      logDir,
      readyPath: "/health",
    }).catch(async (error) => {
      await database.drop();
      throw error;
    });
    return {
      url: peer.url,
      dialect: emmettDialect,
      counted: [
        { name: "emmett", pid: peer.pid },
        { name: "PostgreSQL", pid: servers.postgresPid },
      ],
      settle: servers.checkpoint,
      async stop() {
        await peer.stop();
        await database.drop();
      },
    };
  },
};

export const targets: Target[] = [separateProcesses, embedded, emmettPeer];
