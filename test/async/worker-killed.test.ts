import pg from "pg";
import { v7 as uuidv7 } from "uuid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { basketStream } from "../../src/aggregates/basket/index.js";
import { AsyncCommands } from "../../src/commands/async/async-commands.js";
import type { CommandStatus } from "../../src/commands/async/command-status.js";
import { openDatabase } from "../../src/db/database.js";
import { PostgresEventStore } from "../../src/eventstore/postgres/postgres-event-store.js";
import { commandStatusBucket } from "../../src/nats/names.js";
import { JetStreamCommandQueue } from "../../src/nats/queue/jetstream-command-queue.js";
import { KvCommandStatusStore } from "../../src/nats/queue/kv-command-status.js";
import { skuPool } from "../support/catalog.js";
import type { ServiceProcess } from "../support/processes.js";
import { startWorkerFleet } from "../support/worker-fleet.js";

const ackWaitMs = 2_000;
/** The load's skus: 600 adds over 20 baskets, 30 each. */
const loadSkus = skuPool(30);

/** Worker processes as deployed, each killed with SIGKILL while it holds queued commands. */
describe("queued commands whose worker is killed", { timeout: 120_000 }, () => {
  let fleet: Awaited<ReturnType<typeof startWorkerFleet>>;
  let asyncCommands: AsyncCommands;
  let store: PostgresEventStore;
  beforeAll(async () => {
    fleet = await startWorkerFleet({
      workers: 2,
      partitions: 8,
      routing: "shared",
      logLevel: "debug",
      env: { ASYNC_ACK_WAIT_MS: String(ackWaitMs), ASYNC_MAX_IN_FLIGHT: "16" },
    });
    const statuses = await KvCommandStatusStore.open(fleet.nc, commandStatusBucket(fleet.prefix), {
      ttlMs: 600_000,
      replicas: 1,
      timeoutMs: 5_000,
    });
    const queue = await JetStreamCommandQueue.open(fleet.nc, fleet.prefix, { replicas: 1, timeoutMs: 5_000 });
    asyncCommands = new AsyncCommands(queue, statuses);
    store = new PostgresEventStore(await openDatabase({ kind: "postgres", url: fleet.databaseUrl }));
    await fleet.seedCatalog(["tea", ...loadSkus]);
  }, 90_000);
  afterAll(async () => {
    await store?.close();
    await fleet?.stop();
  });

  const createBasket = async () => {
    const basketId = uuidv7();
    const outcome = await fleet.send(basketId, { type: "CreateBasket", data: { basketId } });
    expect(outcome.ok).toBe(true);
    return basketId;
  };
  const finished = async (commandIds: string[], timeoutMs = 60_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const statuses = await Promise.all(commandIds.map((id) => asyncCommands.statuses.get(id)));
      if (statuses.every((status) => status?.state === "succeeded" || status?.state === "failed"))
        return statuses as CommandStatus[];
      if (Date.now() > deadline) {
        const open = statuses.filter((status) => status?.state !== "succeeded").length;
        throw new Error(`${open} of ${commandIds.length} commands not finished in ${timeoutMs} ms`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  const kill = async (worker: ServiceProcess) => {
    worker.child.kill("SIGKILL");
    await worker.exited;
  };
  const live = () =>
    fleet.processes.filter((worker) => worker.child.exitCode === null && !worker.child.killed);

  it("delivers the command its killed worker held to another worker, which applies it once", async () => {
    const basketId = await createBasket();
    // Hold the basket's stream row: the worker that takes the command stalls in its append.
    const blocker = new pg.Client({ connectionString: fleet.databaseUrl });
    await blocker.connect();
    try {
      await blocker.query("begin");
      await blocker.query("select * from streams where stream_id = $1 for update", [basketStream(basketId)]);
      const commandId = uuidv7();
      await asyncCommands.submit({
        commandId,
        basketId,
        command: { type: "AddItem", data: { sku: "tea", quantity: 1 } },
      });
      const taken = (line: Record<string, unknown>) =>
        line.msg === "queued command received" && line.commandId === commandId;
      const holder = await Promise.any(live().map((worker) => worker.waitFor(taken).then(() => worker)));
      await kill(holder);
      await blocker.query("rollback");

      const [status] = await finished([commandId], 30_000);
      expect(status).toMatchObject({ state: "succeeded", deliveries: 2 });
      const events = await store.readStream(basketStream(basketId));
      expect(events.filter((event) => event.metadata.commandId === commandId)).toHaveLength(1);
      expect(events).toHaveLength(2);
    } finally {
      await blocker.end();
      await fleet.addWorker();
    }
  });

  it("applies every command exactly once when a worker is killed in the middle of a load", async () => {
    const baskets = await Promise.all(Array.from({ length: 20 }, () => createBasket()));
    const commands = Array.from({ length: 600 }, (_, i) => ({
      commandId: uuidv7(),
      basketId: baskets[i % baskets.length] as string,
      command: {
        type: "AddItem" as const,
        data: { sku: loadSkus[Math.floor(i / baskets.length)] as string, quantity: 1 },
      },
    }));
    const submitted = Promise.all(commands.map((envelope) => asyncCommands.submit(envelope)));
    const victim = live()[0] as ServiceProcess;
    // Killed once it has applied some: it then holds others, some appended but not acknowledged.
    let applied = 0;
    await victim.waitFor((line) => line.msg === "queued command applied" && ++applied === 50, 60_000);
    await kill(victim);
    await submitted;
    await fleet.addWorker();

    const statuses = await finished(commands.map((command) => command.commandId));
    expect(statuses.filter((status) => status.state !== "succeeded")).toEqual([]);
    for (const basketId of baskets) {
      const events = await store.readStream(basketStream(basketId));
      const ids = events.slice(1).map((event) => event.metadata.commandId);
      // Every command of the basket once, nothing else.
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids.sort()).toEqual(
        commands
          .filter((command) => command.basketId === basketId)
          .map((command) => command.commandId)
          .sort(),
      );
    }
    const redelivered = statuses.filter((status) => status.deliveries > 1);
    console.log(
      `killed worker: ${redelivered.length} commands delivered again, ${redelivered.filter((s) => s.outcome?.ok && s.outcome.duplicate).length} of them already applied`,
    );
  });
});
