import { pino } from "pino";
import { v7 as uuidv7 } from "uuid";
import { afterEach, describe, expect, it } from "vitest";
import { basketStream } from "../../src/aggregates/basket/index.js";
import { openDatabase } from "../../src/db/database.js";
import { PostgresEventStore } from "../../src/eventstore/postgres/postgres-event-store.js";
import { basketsProjection } from "../../src/projections/baskets/baskets-projection.js";
import { defaultRunnerOptions, ProjectionRunner } from "../../src/projections/projection-runner.js";
import { skuPool } from "../support/catalog.js";
import { type ServiceProcess, startCli } from "../support/processes.js";
import { foldedBasket, projectionCaughtUp, readModelBasket } from "../support/read-model.js";
import { hitRatio, startWorkerFleet } from "../support/worker-fleet.js";

// The default: with 3 or 4 members, every member surely gets some.
const partitions = 64;
const skus = skuPool(30);

/** Baskets, and what every acknowledged command should have made of them; the skus they add listed. */
async function prepareBaskets(fleet: Awaited<ReturnType<typeof startWorkerFleet>>, count: number) {
  await fleet.seedCatalog(skus);
  const baskets = Array.from({ length: count }, () => uuidv7());
  for (const basketId of baskets) {
    const outcome = await fleet.send(basketId, { type: "CreateBasket", data: { basketId } });
    expect(outcome.ok).toBe(true);
  }
  return baskets;
}

/** Adds one of an sku per command, `concurrency` at a time; returns the acknowledged command ids. */
async function load(
  fleet: Awaited<ReturnType<typeof startWorkerFleet>>,
  baskets: string[],
  commands: number,
  concurrency = 16,
) {
  const acked: { basketId: string; commandId: string; sku: string }[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < commands; i = next++) {
        const basketId = baskets[i % baskets.length] as string;
        const sku = skus[Math.floor(i / baskets.length) % skus.length] as string;
        const commandId = uuidv7();
        const outcome = await fleet.send(
          basketId,
          { type: "AddItem", data: { sku, quantity: 1 } },
          commandId,
        );
        if (outcome.ok) acked.push({ basketId, commandId, sku });
      }
    }),
  );
  return acked;
}

// Three and four worker processes under load, beside another test file on two cores.
describe("basket affinity across worker processes", { timeout: 120_000 }, () => {
  let fleet: Awaited<ReturnType<typeof startWorkerFleet>> | undefined;
  afterEach(async () => {
    await fleet?.stop();
    fleet = undefined;
  });

  it("with 3 workers under steady load: each partition has one owner and the cache hits ≥ 99%", async () => {
    fleet = await startWorkerFleet({ workers: 3, partitions });
    const owners = await fleet.converged(3);
    expect(owners.every((worker) => worker.partitions.length > 0)).toBe(true);
    const baskets = await prepareBaskets(fleet, 120);
    await load(fleet, baskets, 240); // warm-up
    const before = await fleet.stats();
    const acked = await load(fleet, baskets, 1_500);
    expect(acked).toHaveLength(1_500);
    const ratio = hitRatio(before, await fleet.stats());
    console.log(`3 workers: hit ratio ${(ratio * 100).toFixed(2)}% over 1500 commands`);
    expect(ratio).toBeGreaterThanOrEqual(0.99);
  });

  it("a worker with another partition count is refused at start, and each worker reports its partitions in /metrics", async () => {
    fleet = await startWorkerFleet({ workers: 1, partitions });
    await fleet.converged(1);
    const mismatched = startCli(["serve", "--role", "worker"], {
      ...fleet.env,
      NATS_PARTITIONS: String(partitions * 2),
    });
    expect(await mismatched.exited).toBe(1);
    expect(mismatched.lines.map((line) => line.msg).join("\n")).toMatch(
      new RegExp(
        `NATS_PARTITIONS=${partitions * 2}, but this deployment .* routes by ${partitions} partitions`,
      ),
    );
    const worker = fleet.processes[0] as ServiceProcess;
    const listening = await worker.waitFor((line) => /basket service \(worker\) at/.test(String(line.msg)));
    const url = /at (http:\/\/\S+)/.exec(String(listening.msg))?.[1];
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`^basket_partitions_owned ${partitions}$`, "m"));
    expect(metrics).toMatch(/^basket_rebalances_total [1-9]/m);
  });

  it("when a worker is SIGKILLed under load: its partitions move within the TTL and nothing acknowledged is lost or doubled", async () => {
    fleet = await startWorkerFleet({ workers: 3, partitions });
    await fleet.converged(3);
    const baskets = await prepareBaskets(fleet, 60);
    const running = load(fleet, baskets, 1_500);
    await new Promise((resolve) => setTimeout(resolve, 400));
    const victim = fleet.processes[1];
    victim?.child.kill("SIGKILL");
    const killedAt = Date.now();
    await fleet.converged(2);
    const movedAfterMs = Date.now() - killedAt;
    const acked = await running;
    console.log(
      `SIGKILL: partitions moved after ${movedAfterMs} ms (TTL 1000 ms); ${acked.length} of 1500 acknowledged`,
    );
    expect(movedAfterMs).toBeLessThan(1_000 + 2 * 250 + 1_000);
    expect(acked).toHaveLength(1_500);

    const database = await openDatabase({ kind: "postgres", url: fleet.databaseUrl, poolSize: 4 });
    const store = new PostgresEventStore(database);
    const runner = new ProjectionRunner(database, store, basketsProjection, {
      ...defaultRunnerOptions,
      owner: "affinity-test",
      log: pino({ level: "silent" }),
    });
    runner.start();
    try {
      const expected = new Map<string, Map<string, number>>();
      for (const { basketId, sku } of acked) {
        const lines = expected.get(basketId) ?? new Map<string, number>();
        lines.set(sku, (lines.get(sku) ?? 0) + 1);
        expected.set(basketId, lines);
      }
      const seen = new Map<string, number>();
      for (const basketId of baskets) {
        const events = await store.readStream(basketStream(basketId));
        for (const event of events) {
          const id = event.metadata.commandId as string;
          seen.set(id, (seen.get(id) ?? 0) + 1);
        }
        // No lost update: every acknowledged add is in the basket, and nothing else.
        const view = (await foldedBasket(store, basketId))?.view;
        const quantities = new Map(view?.lines.map((line) => [line.sku, line.quantity]));
        expect(quantities).toEqual(expected.get(basketId) ?? new Map());
      }
      for (const { commandId } of acked) expect(seen.get(commandId)).toBe(1);
      await projectionCaughtUp(database, store, "baskets", 30_000);
      for (const basketId of baskets) {
        expect(await readModelBasket(database, basketId)).toEqual(await foldedBasket(store, basketId));
      }
    } finally {
      await runner.stop();
      await store.close();
    }
  });

  it("when a fourth worker joins under load: partitions rebalance, ownership converges and the hit ratio recovers", async () => {
    fleet = await startWorkerFleet({ workers: 3, partitions });
    await fleet.converged(3);
    const baskets = await prepareBaskets(fleet, 120);
    await load(fleet, baskets, 240);
    const running = load(fleet, baskets, 1_200);
    await fleet.addWorker();
    const owners = await fleet.converged(4);
    expect(owners.every((worker) => worker.partitions.length > 0)).toBe(true);
    expect((await running).length).toBe(1_200);

    await load(fleet, baskets, 240); // the newcomer warms its share
    const before = await fleet.stats();
    await load(fleet, baskets, 1_200);
    const ratio = hitRatio(before, await fleet.stats());
    console.log(`after a fourth worker joined: hit ratio ${(ratio * 100).toFixed(2)}%`);
    expect(ratio).toBeGreaterThanOrEqual(0.99);
  });
});
