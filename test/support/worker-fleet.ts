import { setTimeout as sleep } from "node:timers/promises";
import { connect, type NatsConnection } from "nats";
import { v7 as uuidv7 } from "uuid";
import type { BasketCommand } from "../../src/aggregates/basket/index.js";
import type { CommandOutcome } from "../../src/commands/command.js";
import { NatsCommandBus } from "../../src/nats/commands/nats-command-bus.js";
import { commandQueueStream, commandStatusBucket, deadLetterStream } from "../../src/nats/names.js";
import { seedCatalogAt, type TestPrices } from "./catalog.js";
import { createPostgresDatabase } from "./databases.js";
import { testNatsUrl, uniquePrefix } from "./nats.js";
import { type ServiceProcess, startCli } from "./processes.js";

export interface WorkerStats {
  member: string;
  partitions: number[];
  cacheHits: number;
  cacheMisses: number;
  conflicts: number;
  rebalances: number;
}

export type WorkerFleet = Awaited<ReturnType<typeof startWorkerFleet>>;

/**
 * Worker processes as deployed (`basket serve --role worker`, affinity routing) on a database
 * and NATS subjects of their own, and a client that talks to them like the API does.
 */
export async function startWorkerFleet(options: {
  workers: number;
  partitions: number;
  routing?: "affinity" | "shared";
  logLevel?: string;
  /**
   * Servers of the test's own (test/support/private-servers.ts), which it may restart: the
   * fleet's client then reconnects forever. By default a fresh database on the shared server,
   * dropped at the end, and the shared NATS.
   */
  servers?: { databaseUrl: string; natsUrl: string };
  /** More environment for every worker (and whatever else the test starts with `env`). */
  env?: Record<string, string>;
}) {
  const database = options.servers
    ? { url: options.servers.databaseUrl, drop: async () => {} }
    : await createPostgresDatabase();
  const natsUrl = options.servers?.natsUrl ?? testNatsUrl;
  const prefix = uniquePrefix("aff");
  const env: Record<string, string> = {
    DATABASE_URL: database.url,
    MIGRATE_ON_START: "true",
    NATS_URL: natsUrl,
    NATS_SUBJECT_PREFIX: prefix,
    NATS_PARTITIONS: String(options.partitions),
    ROUTING: options.routing ?? "affinity",
    HEARTBEAT_MS: "250",
    MEMBER_TTL_MS: "1000",
    PORT: "0",
    LOG_LEVEL: options.logLevel ?? "info",
    ...options.env,
  };
  const processes: ServiceProcess[] = [];
  const nc: NatsConnection = await connect({
    // NATS_URL may name a cluster's seeds, comma-separated, as the service reads it.
    servers: natsUrl.split(","),
    name: "fleet-client",
    ...(options.servers ? { maxReconnectAttempts: -1, reconnectTimeWait: 250 } : {}),
  });
  const bus = new NatsCommandBus(nc, {
    subjectPrefix: prefix,
    partitions: options.partitions,
    timeoutMs: 2_000,
  });

  const fleet = {
    prefix,
    /** The fleet client's NATS connection. */
    nc,
    databaseUrl: database.url,
    processes,
    env,
    /** Lists products in the catalog the workers price from (test/support/catalog.ts). */
    seedCatalog: (products: TestPrices | readonly string[]) => seedCatalogAt(database.url, products),
    async addWorker(timeoutMs?: number) {
      const worker = startCli(["serve", "--role", "worker"], env);
      processes.push(worker);
      await fleet.waitForWorkers(fleet.live().length, timeoutMs);
      return worker;
    },
    /** Every live worker's STATS data, by member. */
    async stats(): Promise<WorkerStats[]> {
      const replies: WorkerStats[] = [];
      try {
        const answers = await nc.requestMany(`$SRV.STATS.${prefix}`, undefined, { maxWait: 150 });
        for await (const reply of answers) {
          const stats = reply.json<{
            metadata: { member: string };
            endpoints: { data: Omit<WorkerStats, "member"> }[];
          }>();
          const data = stats.endpoints[0]?.data;
          if (data) replies.push({ ...data, member: stats.metadata.member });
        }
      } catch {
        // No worker answers yet: none to report.
      }
      return replies;
    },
    async waitForWorkers(count: number, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while ((await fleet.stats()).length < count) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        if (Date.now() > deadline) throw new Error(`fewer than ${count} workers answered`);
      }
    },
    /** Resolves once `count` workers own every partition exactly once between them. */
    async converged(count: number, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const stats = await fleet.stats();
        const owned = stats.flatMap((s) => s.partitions);
        if (
          stats.length === count &&
          owned.length === options.partitions &&
          new Set(owned).size === options.partitions
        ) {
          return stats;
        }
        if (Date.now() > deadline)
          throw new Error(`no convergence on ${count} owners: ${JSON.stringify(stats)}`);
        await sleep(50);
      }
    },
    /**
     * Sends a command; a timed-out or refused one is retried with the same id, as a careful client
     * does, for as long as partitions can take to move on a loaded machine.
     */
    async send(basketId: string, command: BasketCommand, commandId = uuidv7()): Promise<CommandOutcome> {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const outcome = await bus.send({ commandId, basketId, command });
        if (
          outcome.ok ||
          (outcome.kind !== "timeout" && outcome.kind !== "unavailable") ||
          Date.now() > deadline
        )
          return outcome;
        if (outcome.kind === "unavailable") await sleep(50);
      }
    },
    /** The workers' processes not killed nor exited. */
    live() {
      return processes.filter((p) => p.child.exitCode === null && !p.child.killed);
    },
    async stop() {
      for (const worker of processes) {
        if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill("SIGTERM");
        await worker.exited;
      }
      // Private servers go with everything on them; on the shared NATS, clean up after ourselves.
      if (!options.servers) {
        const jsm = await nc.jetstreamManager();
        for (const stream of [
          ...["routing", "workers"].map((bucket) => `KV_${prefix}-${bucket}`),
          `KV_${commandStatusBucket(prefix)}`,
          commandQueueStream(prefix),
          deadLetterStream(prefix),
        ])
          await jsm.streams.delete(stream).catch(() => {});
      }
      await nc.close();
      await database.drop();
    },
  };
  try {
    for (let i = 0; i < options.workers; i++) await fleet.addWorker();
  } catch (error) {
    await fleet.stop();
    throw error;
  }
  return fleet;
}

/** Cache hit ratio between two STATS snapshots, worker by worker (workers may come and go). */
export function hitRatio(before: WorkerStats[], after: WorkerStats[]): number {
  let hits = 0;
  let misses = 0;
  for (const now of after) {
    const then = before.find((s) => s.member === now.member);
    hits += now.cacheHits - (then?.cacheHits ?? 0);
    misses += now.cacheMisses - (then?.cacheMisses ?? 0);
  }
  return hits / Math.max(1, hits + misses);
}
