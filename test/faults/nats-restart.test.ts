import { describe, expect, it } from "vitest";
import { bearer } from "../support/baskets.js";
import { seedCatalog } from "../support/catalog.js";
import { faultClusterPerTest, readinessBecomes } from "../support/faults/index.js";
import { type BasketHandle, createBasketRetried } from "../support/http-load.js";
import { connectSse } from "../support/sse.js";

const env = { COMMAND_TIMEOUT_MS: "2000" };

describe("NATS restarted under load", () => {
  const clusters = faultClusterPerTest();

  /** Load, the NATS server killed mid-way and started again; what every scenario here checks. */
  async function restartUnderLoad(scenario: string, freshStore: boolean) {
    const cluster = await clusters.start({ workers: 2, projectors: 1, env });
    const { fleet, nats } = cluster;
    await fleet.converged(2);
    const load = await cluster.startLoad();
    // Every role: the projector's event relay publishes to JetStream too.
    const usesNats = await cluster.services();
    // A browser following a basket live (SSE) across the restart.
    const followed = load.baskets[0] as BasketHandle;
    const live = await connectSse(`${cluster.api.url}/baskets/${followed.id}/live`, bearer(followed.token));
    await live.received(1);

    await nats.stop();
    const stoppedAt = Date.now();
    const notReadyAfterMs = await readinessBecomes(usesNats, 503);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, 1_500 - (Date.now() - stoppedAt))));
    await nats.start({ freshStore });
    const restartedAt = Date.now();
    await fleet.converged(2, 30_000);
    const convergedAfterMs = Date.now() - restartedAt;
    const readyAfterMs = await readinessBecomes(usesNats, 200);

    await load.acknowledgedReach(300, restartedAt);
    await cluster.verify(
      scenario,
      load,
      {
        "ready 503 after (ms)": notReadyAfterMs,
        "NATS down (ms)": restartedAt - stoppedAt,
        "partitions owned again after (ms)": convergedAfterMs,
        "ready 200 again after (ms)": readyAfterMs,
        "acknowledged after the restart": () => load.acknowledgedAfter(restartedAt),
      },
      freshStore ? { queueLostAt: stoppedAt } : {},
    );
    // The same processes (verify checked none ended) reconnected by themselves.
    for (const { process } of usesNats)
      expect(process.lines.some((line) => line.msg === "reconnected to NATS")).toBe(true);
    // The live page sees a change made after the restart: the event feed follows the stream again.
    await seedCatalog(cluster.store, ["after"]);
    try {
      const added = await fetch(`${cluster.api.url}/baskets/${followed.id}/items`, {
        method: "POST",
        headers: { "content-type": "application/json", ...bearer(followed.token) },
        body: JSON.stringify({ sku: "after", quantity: 1 }),
      });
      expect(added.status).toBe(200);
      const { revision } = (await added.json()) as { revision: number };
      await expect
        .poll(() => live.events.some((event) => event.id === String(revision)), { timeout: 30_000 })
        .toBe(true);
      const seen = live.events.find((event) => event.id === String(revision));
      expect(JSON.parse(seen?.data ?? "{}").lines).toContainEqual(expect.objectContaining({ sku: "after" }));
    } finally {
      live.close();
    }
    return cluster;
  }

  it("with its store kept: API and workers reconnect by themselves, and every acknowledged command is in the store exactly once", async () => {
    await restartUnderLoad("NATS restarted (SIGKILL), JetStream store kept", false);
  });

  it("with its JetStream state lost: workers and the API make their KV buckets again, and carry on", async () => {
    const { api } = await restartUnderLoad("NATS restarted (SIGKILL), JetStream store lost", true);
    // The API's create keys work again: a retried create answers the same basket.
    const record = {
      kind: "create" as const,
      commandId: `after-loss-${Date.now()}`,
      attempts: [],
      replayed: false,
    };
    const first = await createBasketRetried(api.url, undefined, record);
    const again = await createBasketRetried(api.url, undefined, { ...record, attempts: [] });
    expect(first?.id).toBeDefined();
    expect(again?.id).toBe(first?.id);
  });
});
