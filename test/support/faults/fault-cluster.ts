import { type Database, openDatabase } from "../../../src/db/database.js";
import { migrateToLatest } from "../../../src/db/migrate.js";
import { PostgresEventStore } from "../../../src/eventstore/postgres/postgres-event-store.js";
import { testTokenSecret } from "../baskets.js";
import { seedCatalog } from "../catalog.js";
import type { CommandRecord, HttpLoad } from "../http-load.js";
import { type PrivatePostgres, startPrivatePostgres } from "../private-servers.js";
import { startWorkerFleet, type WorkerFleet } from "../worker-fleet.js";
import { scenarioSkus, startScenarioLoad } from "./load.js";
import { type FaultNats, type StartNats, startOneNatsServer } from "./nats.js";
import { logTail, type Service, startTimeoutMs, workerServices } from "./service.js";
import { StartedParts } from "./started-parts.js";
import { type RecoveryFigures, type VerifiedFigures, type VerifyOptions, verifyScenario } from "./verify.js";

export interface FaultClusterOptions {
  workers: number;
  projectors: number;
  /** NATS_PARTITIONS; 16 by default. */
  partitions?: number;
  /** More environment for every process. */
  env?: Record<string, string>;
  /** The NATS it runs on; one private nats-server by default. */
  nats?: StartNats;
}

/** What a started cluster is made of. */
interface Members {
  parts: StartedParts;
  postgres: PrivatePostgres;
  nats: FaultNats;
  database: Database;
  fleet: WorkerFleet;
  api: Service;
  projectors: Service[];
}

/**
 * The service as deployed — an API process, worker processes, projector processes — on a
 * PostgreSQL and a NATS of the test's own, which the test may stop, crash and restart.
 */
export class FaultCluster {
  readonly postgres: PrivatePostgres;
  readonly nats: FaultNats;
  /** The cluster's database, as a test reads it (4 connections of its own). */
  readonly database: Database;
  readonly store: PostgresEventStore;
  /** The worker processes, and a client that talks to them as the API does. */
  readonly fleet: WorkerFleet;
  readonly api: Service;
  readonly projectors: Service[];
  readonly #parts: StartedParts;
  /** The creates of the baskets each load started with: `verify` counts them in. */
  readonly #setup: CommandRecord[] = [];

  private constructor(members: Members) {
    this.#parts = members.parts;
    this.postgres = members.postgres;
    this.nats = members.nats;
    this.database = members.database;
    this.fleet = members.fleet;
    this.api = members.api;
    this.projectors = members.projectors;
    this.store = new PostgresEventStore(this.database);
  }

  /** Starts the servers, then the processes; whatever started is stopped again if a part fails. */
  static async start(options: FaultClusterOptions): Promise<FaultCluster> {
    const parts = new StartedParts();
    try {
      const postgres = await startPrivatePostgres();
      parts.postgres = postgres;
      const nats = await (options.nats ?? startOneNatsServer)();
      parts.nats = nats;
      const database = await openDatabase({ kind: "postgres", url: postgres.url, poolSize: 4 });
      parts.database = database;
      await migrateToLatest(database);
      const fleet = await startWorkerFleet({
        workers: 0,
        partitions: options.partitions ?? 16,
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
      parts.fleet = fleet;
      const api = await parts.startService("api", fleet);
      const projectors: Service[] = [];
      const starts = [
        ...Array.from({ length: options.projectors }, () => async () => {
          projectors.push(await parts.startService("projector", fleet));
        }),
        ...Array.from({ length: options.workers }, () => async () => {
          await fleet.addWorker(startTimeoutMs);
        }),
      ];
      // Each process takes seconds of CPU to start: two at a time keeps both cores busy without
      // making each wait for all the others.
      await Promise.all(
        [0, 1].map(async () => {
          for (let next = starts.shift(); next; next = starts.shift()) await next();
        }),
      );
      return new FaultCluster({ parts, postgres, nats, database, fleet, api, projectors });
    } catch (error) {
      // A start that failed says why: the last lines of every process it started.
      const workers = (parts.fleet?.processes ?? []).map((process) => ({
        role: "worker" as const,
        process,
        url: "",
      }));
      console.log([...parts.services, ...workers].map((service) => logTail(service, 40)).join("\n"));
      await parts.stop();
      throw error;
    }
  }

  /** The worker processes, with where each listens. */
  workers(): Promise<Service[]> {
    return workerServices(this.fleet);
  }

  /** Every process of the cluster, workers included. */
  async services(): Promise<Service[]> {
    return [...this.#parts.services, ...(await this.workers())];
  }

  /**
   * Lists the load's products, then starts the load every scenario runs (faults/load.ts);
   * resolves once 300 commands are acknowledged.
   */
  async startLoad(): Promise<HttpLoad> {
    await seedCatalog(this.store, scenarioSkus);
    const { setup, load } = await startScenarioLoad(this.api.url);
    this.#setup.push(...setup);
    return load;
  }

  /**
   * Finishes the load, then prints and asserts the scenario's figures (faults/verify.ts), with
   * `recovery` — the scenario's own figures — in the printout.
   */
  verify(
    scenario: string,
    load: HttpLoad,
    recovery: RecoveryFigures = {},
    options: VerifyOptions = {},
  ): Promise<VerifiedFigures> {
    return verifyScenario(this, scenario, { setup: this.#setup, load }, recovery, options);
  }

  /** The last log lines of every process, for a failed test's output. */
  async logTails(lines = 30): Promise<string> {
    return (await this.services()).map((service) => logTail(service, lines)).join("\n");
  }

  stop(): Promise<void> {
    return this.#parts.stop();
  }
}
