import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminAuth, createBasket } from "../support/baskets.js";
import { startCommandCluster } from "../support/command-cluster.js";
import { storeBackends } from "../support/event-stores.js";
import { foldedBasket, readModelBasket } from "../support/read-model.js";

/** The whole way round: REST → NATS → worker → event store → projections → read model → REST. */
describe.each(storeBackends)("commands then queries, on %s", (backend) => {
  let cluster: Awaited<ReturnType<typeof startCommandCluster>>;
  beforeAll(async () => {
    cluster = await startCommandCluster({ workers: 2, readSide: { waitTimeoutMs: 5_000 }, backend });
  });
  afterAll(() => cluster?.stop());

  const send = (method: "POST" | "PUT", url: string, auth: Record<string, string>, payload?: object) =>
    cluster.app.inject({ method, url, headers: auth, ...(payload ? { payload } : {}) });

  it("answers each basket as its commands left it, reading its own writes, and the products across them", async () => {
    const sku = `ryw-${backend}-${Date.now()}`;
    await cluster.seedCatalog({ [sku]: 300 });
    const baskets = await Promise.all(Array.from({ length: 4 }, () => createBasket(cluster.app)));
    for (const [i, basket] of baskets.entries()) {
      const added = await send("POST", `/baskets/${basket.id}/items`, basket.auth, { sku, quantity: i + 1 });
      expect(added.statusCode).toBe(200);
      if (i % 2 === 0)
        expect((await send("POST", `/baskets/${basket.id}/checkout`, basket.auth)).statusCode).toBe(200);
    }
    for (const [i, basket] of baskets.entries()) {
      const revision = i % 2 === 0 ? 2 : 1;
      const read = await cluster.app.inject({
        method: "GET",
        url: `/baskets/${basket.id}?minRevision=${revision}`,
        headers: basket.auth,
      });
      expect(read.statusCode, read.body).toBe(200);
      expect(read.json()).toMatchObject({
        id: basket.id,
        revision,
        status: i % 2 === 0 ? "checked_out" : "open",
        lines: [{ sku, quantity: i + 1, lineTotal: 300 * (i + 1) }],
      });
      expect(await readModelBasket(cluster.database, basket.id)).toEqual(
        await foldedBasket(cluster.store, basket.id),
      );
    }
    await expect
      .poll(async () => {
        const popular = await cluster.app.inject({
          method: "GET",
          url: "/products/popular?limit=100",
          headers: adminAuth,
        });
        return (popular.json() as { items: { sku: string }[] }).items.find((item) => item.sku === sku);
      })
      .toMatchObject({ sku, quantityCheckedOut: 1 + 3, quantityInOpenBaskets: 2 + 4, timesAdded: 4 });
  });
});
