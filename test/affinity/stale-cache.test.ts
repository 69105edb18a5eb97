import { v7 as uuidv7 } from "uuid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { basketStream } from "../../src/aggregates/basket/index.js";
import { partitionOf } from "../../src/nats/routing/partitions.js";
import { createBasket } from "../support/baskets.js";
import { startCommandCluster } from "../support/command-cluster.js";
import { foldedBasket } from "../support/read-model.js";

// Enough partitions that a second member surely gets some: each goes to either with even odds.
const partitions = 16;

describe("a partition that moves away and back", () => {
  let cluster: Awaited<ReturnType<typeof startCommandCluster>>;
  beforeAll(async () => {
    cluster = await startCommandCluster({
      workers: 1,
      routing: { mode: "affinity", partitions, heartbeatMs: 100, ttlMs: 400 },
    });
    await cluster.seedCatalog(["a", "b", "c", "e"]);
  });
  afterAll(() => cluster?.stop());

  const tokens = new Map<string, Record<string, string>>();
  const add = (basketId: string, sku: string) =>
    cluster.app.inject({
      method: "POST",
      url: `/baskets/${basketId}/items`,
      headers: tokens.get(basketId) ?? {},
      payload: { sku, quantity: 1 },
    });
  const converged = async (count: number) =>
    expect
      .poll(
        () => {
          const owned = cluster.workers.slice(0, count).flatMap(({ worker }) => worker.partitions);
          return owned.length === partitions && new Set(owned).size === partitions;
        },
        { timeout: 10_000 },
      )
      .toBe(true);

  it("is evicted when it leaves, and a stale cache ends in a caught conflict and a correct retry", async () => {
    const [first] = cluster.workers as [(typeof cluster.workers)[number]];
    await converged(1);
    const baskets = await Promise.all(
      Array.from({ length: 12 }, async () => {
        const { id, auth } = await createBasket(cluster.app);
        tokens.set(id, auth);
        return id;
      }),
    );
    for (const basketId of baskets) expect((await add(basketId, "a")).statusCode).toBe(200);

    // A second worker joins: some partitions move to it, and the first forgets their baskets.
    const second = await cluster.addWorker();
    await expect.poll(() => second.worker.partitions.length, { timeout: 10_000 }).toBeGreaterThan(0);
    await converged(2);
    // It evicts once the subscriptions it lost have drained, a moment after they stop counting as its own.
    await expect.poll(() => first.handler.stats.cacheEvictions, { timeout: 10_000 }).toBeGreaterThan(0);
    const moved = baskets.find((id) =>
      second.worker.partitions.includes(partitionOf(id, partitions)),
    ) as string;
    expect(moved).toBeDefined();
    expect((await add(moved, "b")).statusCode).toBe(200); // served by the second worker
    expect(second.handler.stats.cacheMisses).toBeGreaterThan(0);

    // It leaves again: the partition comes back to a first worker that no longer caches the basket.
    await second.worker.stop();
    await expect.poll(() => first.worker.partitions.length, { timeout: 10_000 }).toBe(partitions);
    const missesBefore = first.handler.stats.cacheMisses;
    const conflictsBefore = first.handler.stats.conflicts;
    expect((await add(moved, "c")).json().lines.map((line: { sku: string }) => line.sku)).toEqual([
      "a",
      "b",
      "c",
    ]);
    expect(first.handler.stats.cacheMisses).toBe(missesBefore + 1);
    expect(first.handler.stats.conflicts).toBe(conflictsBefore);

    // A worker that still believed it owned the partition writes behind the first one's back (an
    // older one, even: an ItemAdded of before the catalog, read through the upcaster).
    const [last] = (await cluster.store.readStream(basketStream(moved))).slice(-1);
    await cluster.store.append(
      basketStream(moved),
      [
        {
          type: "ItemAdded",
          data: { sku: "d", name: "d", unitPrice: 10, quantity: 1 },
          metadata: { commandId: uuidv7() },
        },
      ],
      last?.revision as bigint,
    );
    const response = await add(moved, "e");
    expect(response.statusCode).toBe(200);
    expect(first.handler.stats.conflicts).toBe(conflictsBefore + 1);
    expect(response.json().lines.map((line: { sku: string }) => line.sku)).toEqual(["a", "b", "c", "d", "e"]);
    const stream = await cluster.store.readStream(basketStream(moved));
    expect(stream.map((event) => event.revision)).toEqual(stream.map((_, i) => BigInt(i)));
    const { revision, ...answered } = response.json();
    expect(BigInt(revision)).toBe(stream.at(-1)?.revision);
    expect((await foldedBasket(cluster.store, moved))?.view).toEqual(answered);
  });
});
