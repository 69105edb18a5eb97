/**
 * Two worker processes, the same workload routed by basket affinity (hash partitions) and by a
 * plain shared queue group: throughput, p99 and the cache hit ratio of each.
 *   npm run bench   (or: npx tsx bench/affinity.ts)
 */
import { v7 as uuidv7 } from "uuid";
import { skuPool } from "../test/support/catalog.js";
import { hitRatio, startWorkerFleet } from "../test/support/worker-fleet.js";
import { drive, summarise } from "./stats.js";

const baskets = 2_000;
const commands = 20_000;
const concurrency = 64;
const skus = skuPool(10);

async function run(routing: "affinity" | "shared") {
  const fleet = await startWorkerFleet({ workers: 2, partitions: 64, routing, logLevel: "warn" });
  try {
    if (routing === "affinity") await fleet.converged(2);
    await fleet.seedCatalog(skus);
    const ids = Array.from({ length: baskets }, () => uuidv7());
    await drive(ids.length, concurrency, (i) =>
      fleet.send(ids[i] as string, { type: "CreateBasket", data: { basketId: ids[i] as string } }),
    );
    const before = await fleet.stats();
    const { latencies, elapsedMs } = await drive(commands, concurrency, async (i) => {
      const outcome = await fleet.send(ids[i % baskets] as string, {
        type: "AddItem",
        data: { sku: skus[Math.floor(i / baskets) % skus.length] as string, quantity: 1 },
      });
      if (!outcome.ok) throw new Error(`AddItem failed: ${outcome.code}`);
    });
    const after = await fleet.stats();
    const conflicts =
      after.reduce((sum, s) => sum + s.conflicts, 0) - before.reduce((sum, s) => sum + s.conflicts, 0);
    return {
      ...summarise(`${routing}, 2 workers`, latencies, elapsedMs),
      hitRatio: `${(hitRatio(before, after) * 100).toFixed(1)}%`,
      // A "hit" on a basket the other worker has since changed is stale: it costs a conflict and a re-read.
      conflicts,
    };
  } finally {
    await fleet.stop();
  }
}

const rows = [await run("affinity"), await run("shared")];
console.log(
  `\nbench/affinity.ts: ${commands} AddItem commands over ${baskets} baskets, ${concurrency} in flight`,
);
console.table(rows);
