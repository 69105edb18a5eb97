import { expect } from "vitest";
import type { Database } from "../../../src/db/database.js";
import type { EventStore } from "../../../src/eventstore/port.js";
import { type LoadFigures, loadFigures } from "../http-load.js";
import {
  printFigures,
  type ReadModelFigures,
  readModelFigures,
  type StoreFigures,
  storeFigures,
} from "./figures.js";
import type { ScenarioLoad } from "./load.js";
import { errorLines, type Service } from "./service.js";

/** What a scenario's end is checked on: the cluster's database and store, and its processes. */
export interface VerifiedCluster {
  database: Database;
  store: EventStore;
  services(): Promise<Service[]>;
}

/**
 * A scenario's own figures for the printout, by name: how long recovery took, say. A function
 * is read once the load has finished.
 */
export type RecoveryFigures = Record<string, unknown>;

export interface VerifyOptions {
  /** When NATS lost its JetStream store: queued commands accepted before then and not yet taken went with it. */
  queueLostAt?: number;
}

export interface VerifiedFigures {
  client: LoadFigures;
  stored: StoreFigures;
  readModel: ReadModelFigures;
}

/**
 * Everything a fault test asserts at the end, printed first: the client's figures (every
 * command acknowledged in the end), the store's (each acknowledged command there exactly
 * once) and the read model's (the fold of the events; every projection, the event relay
 * too, applied each event of the log once).
 */
export async function verifyScenario(
  cluster: VerifiedCluster,
  scenario: string,
  { setup, load }: ScenarioLoad,
  recovery: RecoveryFigures = {},
  { queueLostAt }: VerifyOptions = {},
): Promise<VerifiedFigures> {
  await load.finish();
  const figures = Object.fromEntries(
    Object.entries(recovery).map(([name, value]) => [name, typeof value === "function" ? value() : value]),
  );
  const records = [...setup, ...load.records];
  const client = loadFigures(records);
  const mayBeLost = new Set(
    records
      .filter(
        (r) => queueLostAt !== undefined && r.queued && (r.ackedAt ?? Number.POSITIVE_INFINITY) < queueLostAt,
      )
      .map((r) => r.commandId),
  );
  const missing = (figures: { acknowledgedMissing: string[] }) =>
    figures.acknowledgedMissing.filter((id) => !mayBeLost.has(id));
  // A queued command is acknowledged before it is applied: give the queue time to drain.
  let stored = await storeFigures(cluster.database, records);
  for (const deadline = Date.now() + 60_000; missing(stored).length > 0 && Date.now() < deadline; ) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    stored = await storeFigures(cluster.database, records);
  }
  const lostWithTheStore = stored.acknowledgedMissing.length - missing(stored).length;
  if (queueLostAt !== undefined) figures["queued commands lost with JetStream's store"] = lostWithTheStore;
  const readModel = await readModelFigures(
    cluster.database,
    cluster.store,
    load.baskets.map((basket) => basket.id),
  );
  const services = await cluster.services();
  const errors = services.flatMap(errorLines);
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
  expect(readModel.eventsApplied).toEqual(readModel.logEvents);
  return { client, stored, readModel };
}
