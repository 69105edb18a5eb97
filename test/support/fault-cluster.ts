import { sql } from "kysely";
import { afterEach, expect } from "vitest";
import type { Role } from "../../src/config/roles.js";
import { type Database, openDatabase } from "../../src/db/database.js";
import { migrateToLatest } from "../../src/db/migrate.js";
import { PostgresEventStore } from "../../src/eventstore/postgres/postgres-event-store.js";
import { testTokenSecret } from "./baskets.js";
import {
  type BasketHandle,
  type CommandRecord,
  createBasketRetried,
  type HttpLoad,
  loadFigures,
  patientClient,
  startHttpLoad,
} from "./http-load.js";
import { startPrivateNats, startPrivatePostgres } from "./private-servers.js";
import { listeningUrl, type ServiceProcess, startCli } from "./processes.js";
import { projectionCaughtUp, readModelDifferences } from "./read-model.js";
import { startWorkerFleet } from "./worker-fleet.js";

export interface Service {
  role: Role;
  process: ServiceProcess;
  /** Where it listens: the API, or /metrics and /health on the other roles. */
  url: string;
}

/** The stops of clusters started and not stopped yet, those still starting too. */
const unstopped = new Set<() => Promise<void>>();

/** Stops every cluster not stopped yet — also one a timed-out test left starting. */
async function stopFaultClusters(): Promise<void> {
  await Promise.all([...unstopped].map((stop) => stop()));
}

/** What the projectors run with NATS: the read models and the event relay (to JetStream). */
const projectionNames = ["baskets", "product-popularity", "event-relay"];

/** How long one process may take to start on a busy machine. */
const startTimeoutMs = 120_000;

/**
 * The service as deployed — an API process, worker processes, projector processes — on a
 * PostgreSQL and a NATS of the test's own, which the test may stop, crash and restart.
 */
async function startFaultCluster(options: {
  workers: number;
  projectors: number;
  partitions?: number;
  env?: Record<string, string>;
}) {
  const postgres = await startPrivatePostgres();
  const nats = await startPrivateNats().catch(async (error) => {
    await postgres.destroy();
    throw error;
  });
  const services: Service[] = [];
  let database: Database | undefined;
  let fleet: Awaited<ReturnType<typeof startWorkerFleet>> | undefined;
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= stopEverything().finally(() => unstopped.delete(stop));
    return stopping;
  };
  unstopped.add(stop);
  const stopEverything = async () => {
    // Gracefully, as deployed; a process that does not end in 15 s is killed.
    await Promise.all(
      services.map(async ({ process }) => {
        if (process.child.exitCode === null && process.child.signalCode === null)
          process.child.kill("SIGTERM");
        const timer = setTimeout(() => process.child.kill("SIGKILL"), 15_000);
        await process.exited;
        clearTimeout(timer);
      }),
    );
    await fleet?.stop().catch(() => {});
    await database?.close().catch(() => {});
    await Promise.all([postgres.destroy(), nats.destroy()]);
  };
  try {
    database = await openDatabase({ kind: "postgres", url: postgres.url, poolSize: 4 });
    await migrateToLatest(database);
    const store = new PostgresEventStore(database);
    const open = database;
    const partitions = options.partitions ?? 16;
    fleet = await startWorkerFleet({
      workers: 0,
      partitions,
      servers: { databaseUrl: postgres.url, natsUrl: nats.url },
      env: {
        MIGRATE_ON_START: "false",
        BASKET_TOKEN_SECRETS: testTokenSecret,
        // A queued command whose worker died comes again after this, not after half a minute.
        ASYNC_ACK_WAIT_MS: "2000",
        // The load comes from one address but stands for many shoppers.
        RATE_LIMIT_MAX: "0",
        ...options.env,
      },
    });
    const workers = fleet;
    const start = async (role: Role) => {
      if (stopping) throw new Error("the cluster is stopping");
      const process = startCli(["serve", "--role", role], workers.env);
      const service = { role, process, url: "" };
      services.push(service);
      service.url = await listeningUrl(process, startTimeoutMs);
      return service;
    };
    // Each process takes seconds of CPU to start: two at a time keeps both cores busy without
    // making each wait for all the others.
    const api = await start("api");
    const projectors: Service[] = [];
    const starts = [
      ...Array.from({ length: options.projectors }, () => async () => {
        projectors.push(await start("projector"));
      }),
      ...Array.from({ length: options.workers }, () => async () => {
        await workers.addWorker(startTimeoutMs);
      }),
    ];
    await Promise.all(
      [0, 1].map(async () => {
        for (let next = starts.shift(); next; next = starts.shift()) await next();
      }),
    );

    const setup: CommandRecord[] = [];
    const baskets: BasketHandle[] = [];
    const cluster = {
      postgres,
      nats,
      database: open,
      store,
      fleet: workers,
      api,
      projectors,
      /** The worker processes, with where each listens. */
      async workers(): Promise<Service[]> {
        return Promise.all(
          workers.processes.map(async (process) => ({
            role: "worker" as const,
            process,
            url: await listeningUrl(process, startTimeoutMs),
          })),
        );
      },
      /** Every process of the cluster, workers included. */
      async services(): Promise<Service[]> {
        return [...services, ...(await cluster.workers())];
      },
      /**
       * The load every scenario runs: 30 baskets created, then commands at them 16 at a time
       * (every 20th a create, every 5th add queued with Prefer: respond-async), until `verify`. Resolves once 300 are acknowledged, so a fault
       * comes in the middle of it.
       */
      async startLoad() {
        for (let i = 0; i < 30; i++) {
          const record: CommandRecord = {
            kind: "create",
            commandId: `setup-${i}-${Date.now()}`,
            attempts: [],
            replayed: false,
          };
          setup.push(record);
          const basket = await createBasketRetried(api.url, patientClient, record);
          if (!basket) throw new Error(`could not create a basket: ${record.attempts.join(", ")}`);
          baskets.push(basket);
        }
        const load = startHttpLoad({
          apiUrl: api.url,
          baskets,
          concurrency: 16,
          createEvery: 20,
          queueEvery: 5,
        });
        await load.acknowledgedReach(300);
        return load;
      },
      /**
       * What the store holds of the given commands, read from each event's metadata (commandId):
       * an AddItem and a CreateBasket record exactly one event each.
       */
      async storeFigures(records: readonly CommandRecord[]) {
        const { rows } = await sql<{ command_id: string; events: string }>`
          select metadata->>'commandId' as command_id, count(*) as events
          from events group by 1`.execute(open.db);
        const applied = new Map(rows.map((row) => [row.command_id, Number(row.events)]));
        const acked = records.filter((record) => record.ackedAt !== undefined);
        const sent = new Set(records.map((record) => record.commandId));
        return {
          acknowledgedInStore: acked.filter((record) => applied.has(record.commandId)).length,
          acknowledgedMissing: acked
            .filter((record) => !applied.has(record.commandId))
            .map((r) => r.commandId),
          appliedTwice: records
            .filter((record) => (applied.get(record.commandId) ?? 0) > 1)
            .map((r) => r.commandId),
          appliedUnacknowledged: records.filter(
            (record) => record.ackedAt === undefined && applied.has(record.commandId),
          ).length,
          /** Events of commands nobody sent. */
          strangers: rows.filter((row) => !sent.has(row.command_id)).length,
        };
      },
      /**
       * Waits for the projections to catch up, then compares the read model with the fold of the
       * events: each basket's view, product popularity (which counts, so applying a batch twice
       * would show), and each projection's count of events applied against the log's.
       */
      async readModelFigures(basketIds: readonly string[], timeoutMs = 60_000) {
        for (const name of projectionNames) await projectionCaughtUp(open, store, name, timeoutMs);
        return readModelDifferences(open, store, basketIds);
      },
      /**
       * Everything a fault test asserts at the end, printed first: the client's figures (every
       * command acknowledged in the end), the store's (each acknowledged command there exactly
       * once) and the read model's (the fold of the events; every projection, the event relay
       * too, applied each event of the log once). `recovery` adds the scenario's own figures to
       * the printout (a function is read once the load has finished).
       */
      async verify(
        scenario: string,
        load: HttpLoad,
        recovery: Record<string, unknown> = {},
        /** When NATS lost its JetStream store: queued commands accepted before then and not yet taken went with it. */
        { queueLostAt }: { queueLostAt?: number } = {},
      ) {
        await load.finish();
        const figures = Object.fromEntries(
          Object.entries(recovery).map(([name, value]) => [
            name,
            typeof value === "function" ? value() : value,
          ]),
        );
        const records = [...setup, ...load.records];
        const client = loadFigures(records);
        const mayBeLost = new Set(
          records
            .filter(
              (r) =>
                queueLostAt !== undefined &&
                r.queued &&
                (r.ackedAt ?? Number.POSITIVE_INFINITY) < queueLostAt,
            )
            .map((r) => r.commandId),
        );
        const missing = (figures: { acknowledgedMissing: string[] }) =>
          figures.acknowledgedMissing.filter((id) => !mayBeLost.has(id));
        // A queued command is acknowledged before it is applied: give the queue time to drain.
        let stored = await cluster.storeFigures(records);
        for (const deadline = Date.now() + 60_000; missing(stored).length > 0 && Date.now() < deadline; ) {
          await new Promise((resolve) => setTimeout(resolve, 200));
          stored = await cluster.storeFigures(records);
        }
        const lostWithTheStore = stored.acknowledgedMissing.length - missing(stored).length;
        if (queueLostAt !== undefined)
          figures["queued commands lost with JetStream's store"] = lostWithTheStore;
        const readModel = await cluster.readModelFigures(load.baskets.map((basket) => basket.id));
        const services = await cluster.services();
        // An error line is a 500 answered or a failure nobody handled; unavailability is a warning.
        const errors = services.flatMap(({ process }) =>
          process.lines.filter(
            (line) => Number(line.level) >= 50 || /Unhandled|uncaught/i.test(String(line.msg)),
          ),
        );
        printFigures(scenario, client, stored, readModel, { ...figures, "error log lines": errors.length });
        // Nobody restarted anything: every process not killed on purpose is the one that started.
        for (const { role, process } of services) {
          if (!process.child.killed)
            expect({ role, exit: process.child.exitCode ?? process.child.signalCode }).toEqual({
              role,
              exit: null,
            });
        }
        expect(errors.map((line) => JSON.stringify(line).slice(0, 300))).toEqual([]);
        // The client retried until every command was acknowledged, and nothing else came back.
        expect(client.gaveUp).toBe(0);
        expect(client.otherFailures).toBe(0);
        expect(client.acknowledged).toBeGreaterThan(0);
        expect(missing(stored)).toEqual([]);
        expect(stored.appliedTwice).toEqual([]);
        expect(stored.strangers).toBe(0);
        expect(stored.acknowledgedInStore).toBe(client.acknowledged - lostWithTheStore);
        expect(readModel.basketMismatches).toEqual([]);
        expect(readModel.popularityMatches).toBe(true);
        expect(readModel.eventsApplied).toEqual(
          Object.fromEntries(projectionNames.map((name) => [name, readModel.logEvents])),
        );
        return { client, stored, readModel };
      },
      /** The last log lines of every process, for a failed test's output. */
      async logTails(lines = 30) {
        return (await cluster.services())
          .map(({ role, process }) => {
            const tail = process.lines
              .filter((line) => line.msg !== "incoming request" && line.msg !== "request completed")
              .slice(-lines)
              .map((line) => JSON.stringify(line).slice(0, 500));
            return `--- ${role} (pid ${process.child.pid}, exit ${process.child.exitCode ?? process.child.signalCode ?? "-"})\n${tail.join("\n")}`;
          })
          .join("\n");
      },
      stop,
    };
    return cluster;
  } catch (error) {
    await stop();
    throw error;
  }
}

export type FaultCluster = Awaited<ReturnType<typeof startFaultCluster>>;

/** Resolves with how long it took until every service's /health/ready answered `status`. */
export async function readinessBecomes(
  services: readonly Service[],
  status: number,
  timeoutMs = 30_000,
): Promise<number> {
  const started = Date.now();
  for (;;) {
    const states = await Promise.all(services.map(readiness));
    if (states.every((state) => state === status)) return Date.now() - started;
    if (Date.now() - started > timeoutMs)
      throw new Error(
        `readiness not ${status} in ${timeoutMs} ms: ${services.map((s, i) => `${s.role} ${states[i]}`).join(", ")}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** GET /health/ready's status, or "down" when the process does not answer. */
export async function readiness(service: Service): Promise<number | "down"> {
  try {
    const response = await fetch(`${service.url}/health/ready`, { signal: AbortSignal.timeout(3_000) });
    await response.arrayBuffer();
    return response.status;
  } catch {
    return "down";
  }
}

function printFigures(
  scenario: string,
  client: ReturnType<typeof loadFigures>,
  stored: Awaited<ReturnType<FaultCluster["storeFigures"]>>,
  readModel: Awaited<ReturnType<FaultCluster["readModelFigures"]>>,
  recovery: Record<string, unknown>,
) {
  const applied = Object.entries(readModel.eventsApplied)
    .map(([name, count]) => `${name} ${count}`)
    .join(", ");
  console.log(
    [
      `[fault] ${scenario}`,
      `  commands: sent ${client.sent}, acknowledged ${client.acknowledged} (${client.queued} of them queued, 202), gave up ${client.gaveUp}; ` +
        `attempts ${client.attempts} (504 ${client.timeouts}, 503 ${client.unavailable}, no answer ${client.networkErrors}, ` +
        `other ${client.otherFailures}), answered as replayed ${client.replayed}`,
      `  store: acknowledged found ${stored.acknowledgedInStore}, missing ${stored.acknowledgedMissing.length}, ` +
        `applied twice ${stored.appliedTwice.length}, applied but not acknowledged ${stored.appliedUnacknowledged}, ` +
        `events of unknown commands ${stored.strangers}`,
      `  read model: basket mismatches ${readModel.basketMismatches.length} of ${readModel.baskets}, ` +
        `popularity ${readModel.popularityMatches ? "matches" : "DIFFERS"}, events applied ${applied} of ${readModel.logEvents} in the log`,
      `  recovery: ${Object.entries(recovery)
        .map(([name, value]) => `${name} ${value}`)
        .join(", ")}`,
    ].join("\n"),
  );
}

/**
 * For a fault test file: `start` a cluster in a test, and it is stopped after the test. A failed
 * test prints the cluster's log tails first (after `beforeLogs`, e.g. waking a stopped process).
 */
export function faultClusterPerTest(beforeLogs?: (cluster: FaultCluster) => void) {
  let current: FaultCluster | undefined;
  afterEach(async ({ task }) => {
    if (task.result?.state === "fail" && current) {
      beforeLogs?.(current);
      console.log(await current.logTails());
    }
    current = undefined;
    await stopFaultClusters();
  });
  return {
    async start(options: Parameters<typeof startFaultCluster>[0]): Promise<FaultCluster> {
      current = await startFaultCluster(options);
      return current;
    },
  };
}
