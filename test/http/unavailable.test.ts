import { v7 as uuidv7 } from "uuid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { commandSubject } from "../../src/nats/names.js";
import { partitionOf } from "../../src/nats/routing/partitions.js";
import { adminAuth, createBasket } from "../support/baskets.js";
import { startCommandCluster } from "../support/command-cluster.js";

describe("when no worker answers", () => {
  let cluster: Awaited<ReturnType<typeof startCommandCluster>>;
  beforeAll(async () => {
    cluster = await startCommandCluster({ workers: 0, timeoutMs: 300 });
    await cluster.seedCatalog(["a"]);
  });
  afterAll(() => cluster?.stop());

  const addItem = (basketId: string, auth: Record<string, string> = adminAuth) =>
    cluster.app.inject({
      method: "POST",
      url: `/baskets/${basketId}/items`,
      headers: auth,
      payload: { sku: "a", quantity: 1 },
    });

  it("answers 503 with Retry-After when no worker serves commands (the command surely did not run)", async () => {
    const response = await addItem(uuidv7());
    expect(response.statusCode).toBe(503);
    expect(response.headers["retry-after"]).toBe("1");
    expect(response.json()).toMatchObject({ status: 503, code: "no_workers" });
  });

  it("answers 504 when a worker took the command but did not answer in time (outcome unknown)", async () => {
    const basketId = uuidv7();
    // Takes the command, never answers.
    const silent = cluster.apiNc.subscribe(
      commandSubject(cluster.prefix, partitionOf(basketId, 8), basketId),
    );
    try {
      const response = await addItem(basketId);
      expect(response.statusCode).toBe(504);
      expect(response.json()).toMatchObject({ status: 504, code: "timeout" });
    } finally {
      silent.unsubscribe();
    }
  });

  it("serves again as soon as a worker joins", async () => {
    await cluster.addWorker();
    const basket = await createBasket(cluster.app);
    expect((await addItem(basket.id, basket.auth)).statusCode).toBe(200);
  });
});
