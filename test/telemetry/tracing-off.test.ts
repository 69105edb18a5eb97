import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { basketStream } from "../../src/aggregates/basket/index.js";
import { createBasket } from "../support/baskets.js";
import { startCommandCluster } from "../support/command-cluster.js";

describe("tracing off (no exporter configured)", () => {
  let cluster: Awaited<ReturnType<typeof startCommandCluster>>;
  beforeAll(async () => {
    cluster = await startCommandCluster({ workers: 1 });
    await cluster.seedCatalog({ TEA: 450 });
  });
  afterAll(() => cluster?.stop());

  it("adds nothing: a caller's traceparent is not taken up, and the events carry no trace context", async () => {
    const basket = await createBasket(cluster.app);
    const added = await cluster.app.inject({
      method: "POST",
      url: `/baskets/${basket.id}/items`,
      headers: {
        "content-type": "application/json",
        ...basket.auth,
        traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
      },
      payload: JSON.stringify({ sku: "TEA", quantity: 1 }),
    });
    expect(added.statusCode).toBe(200);
    for (const event of await cluster.store.readStream(basketStream(basket.id))) {
      expect(event.metadata).not.toHaveProperty("traceparent");
      expect(event.metadata).not.toHaveProperty("tracestate");
    }
  });
});
