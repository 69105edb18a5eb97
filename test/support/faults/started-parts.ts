import type { Role } from "../../../src/config/roles.js";
import type { Database } from "../../../src/db/database.js";
import type { PrivatePostgres } from "../private-servers.js";
import { listeningUrl, startCli } from "../processes.js";
import type { WorkerFleet } from "../worker-fleet.js";
import type { FaultNats } from "./nats.js";
import { type Service, startTimeoutMs, stopService } from "./service.js";

/** Parts started and not stopped yet, those of clusters still starting too. */
const unstopped = new Set<StartedParts>();

/** Stops every cluster's parts not stopped yet — also those a timed-out test left starting. */
export async function stopUnstopped(): Promise<void> {
  await Promise.all([...unstopped].map((parts) => parts.stop()));
}

/**
 * What a fault cluster has started so far — its servers, its database connection, the worker
 * fleet, the other service processes — and how it all stops, however far the start got.
 */
export class StartedParts {
  postgres: PrivatePostgres | undefined;
  nats: FaultNats | undefined;
  database: Database | undefined;
  fleet: WorkerFleet | undefined;
  /** The processes other than the workers (the fleet has those): the API and the projectors. */
  readonly services: Service[] = [];
  #stopping: Promise<void> | undefined;

  constructor() {
    unstopped.add(this);
  }

  /** Starts `basket serve --role <role>` with the fleet's environment; resolves once it listens. */
  async startService(role: Role, fleet: WorkerFleet): Promise<Service> {
    if (this.#stopping) throw new Error("the cluster is stopping");
    const process = startCli(["serve", "--role", role], fleet.env);
    const service = { role, process, url: "" };
    this.services.push(service);
    service.url = await listeningUrl(process, startTimeoutMs);
    return service;
  }

  /** Stops everything, once: the processes gracefully, then the connections, then the servers. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stopEverything().finally(() => unstopped.delete(this));
    return this.#stopping;
  }

  async #stopEverything(): Promise<void> {
    await Promise.all(this.services.map(stopService));
    await this.fleet?.stop().catch(() => {});
    await this.database?.close().catch(() => {});
    await Promise.all([this.postgres?.destroy(), this.nats?.destroy()]);
  }
}
