import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { productStream } from "../../src/aggregates/product/index.js";
import { adminAuth, createBasket } from "../support/baskets.js";
import { startCommandCluster } from "../support/command-cluster.js";
import { expectProblem } from "../support/problems.js";

const json = { "content-type": "application/json" };

describe("the catalog over HTTP", () => {
  let cluster: Awaited<ReturnType<typeof startCommandCluster>>;
  beforeAll(async () => {
    cluster = await startCommandCluster({ workers: 1, readSide: { waitTimeoutMs: 5_000 } });
  });
  afterAll(() => cluster?.stop());

  const put = (sku: string, body: unknown, headers: Record<string, string> = adminAuth) =>
    cluster.app.inject({
      method: "PUT",
      url: `/products/${encodeURIComponent(sku)}`,
      headers: { ...json, ...headers },
      payload: JSON.stringify(body),
    });
  const get = (url: string) => cluster.app.inject({ method: "GET", url });
  const streamOf = (sku: string) => cluster.store.readStream(productStream(sku));
  /** The shop's reads follow the projection: wait until it shows the product's revision. */
  const shown = async (sku: string, revision: number) =>
    expect
      .poll(async () => (await get(`/products/${encodeURIComponent(sku)}`)).json(), { timeout: 10_000 })
      .toMatchObject({
        revision,
      });

  it("lists a product, records nothing for the same put, and a change of price once", async () => {
    const listed = await put("CAT-TEA", { name: "Green tea", prices: { EUR: 450, USD: 499 } });
    expect(listed.statusCode).toBe(200);
    expect(listed.json()).toEqual({
      sku: "CAT-TEA",
      name: "Green tea",
      prices: { EUR: 450, USD: 499 },
      listed: true,
      revision: 0,
      changed: true,
    });
    expect(
      (await put("CAT-TEA", { name: "Green tea", prices: { USD: 499, EUR: 450 } })).json(),
    ).toMatchObject({
      revision: 0,
      changed: false,
    });
    expect(
      (await put("CAT-TEA", { name: "Green tea", prices: { EUR: 480, USD: 499 } })).json(),
    ).toMatchObject({
      prices: { EUR: 480 },
      revision: 1,
      changed: true,
    });
    expect((await streamOf("CAT-TEA")).map((event) => event.type)).toEqual([
      "ProductListed",
      "ProductChanged",
    ]);
    await shown("CAT-TEA", 1);
    expect((await get("/products/CAT-TEA")).json()).toMatchObject({
      name: "Green tea",
      prices: { EUR: 480, USD: 499 },
    });
  });

  it("delists a product: the shop no longer shows it; unknown ones are 404", async () => {
    await put("CAT-GONE", { name: "Soon gone", prices: { EUR: 100 } });
    await shown("CAT-GONE", 0);
    const delisted = await cluster.app.inject({
      method: "DELETE",
      url: "/products/CAT-GONE",
      headers: adminAuth,
    });
    expect(delisted.json()).toMatchObject({ listed: false, revision: 1, changed: true });
    await expect
      .poll(async () => (await get("/products/CAT-GONE")).statusCode, { timeout: 10_000 })
      .toBe(404);
    expectProblem(await get("/products/CAT-GONE"), 404, "product_not_found");
    expectProblem(
      await cluster.app.inject({ method: "DELETE", url: "/products/CAT-NEVER", headers: adminAuth }),
      404,
      "product_not_found",
    );
    expect(await streamOf("CAT-NEVER")).toEqual([]);
  });

  it("keeps the operator's routes the operator's: no token 401, a basket's token 403, and nothing written", async () => {
    const basket = await createBasket(cluster.app);
    expectProblem(await put("CAT-SNEAK", { name: "x", prices: { EUR: 1 } }, {}), 401, "missing_token");
    expectProblem(await put("CAT-SNEAK", { name: "x", prices: { EUR: 1 } }, basket.auth), 403, "forbidden");
    expectProblem(
      await cluster.app.inject({ method: "DELETE", url: "/products/CAT-TEA", headers: basket.auth }),
      403,
      "forbidden",
    );
    expect(await streamOf("CAT-SNEAK")).toEqual([]);
  });

  it.each([
    ["no prices", { name: "x", prices: {} }],
    ["a currency that is no code", { name: "x", prices: { euro: 1 } }],
    ["a price with a point", { name: "x", prices: { EUR: 4.5 } }],
    ["a negative price", { name: "x", prices: { EUR: -1 } }],
    ["a price as text", { name: "x", prices: { EUR: "450" } }],
    ["no name", { prices: { EUR: 1 } }],
    ["a field too many", { name: "x", prices: { EUR: 1 }, listed: false }],
  ])("refuses a product with %s, recording nothing", async (_, body) => {
    expectProblem(await put("CAT-BAD", body), 400, "invalid_request");
    expect(await streamOf("CAT-BAD")).toEqual([]);
  });

  it("pages the listed products in sku order, by currency, for anyone", async () => {
    for (const [sku, prices] of [
      ["PAGE-A", { EUR: 1, SEK: 10 }],
      ["PAGE-B", { EUR: 2 }],
      ["PAGE-C", { SEK: 30 }],
      ["PAGE-D", { EUR: 4 }],
      ["PAGE-E", { EUR: 5 }],
    ] as const)
      await put(sku, { name: `Page ${sku}`, prices });
    await cluster.app.inject({ method: "DELETE", url: "/products/PAGE-D", headers: adminAuth });
    await shown("PAGE-E", 0);
    await expect.poll(async () => (await get("/products/PAGE-D")).statusCode, { timeout: 10_000 }).toBe(404);

    const skus: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await get(`/products?currency=EUR&limit=2${cursor ? `&cursor=${cursor}` : ""}`);
      expect(page.statusCode).toBe(200);
      expect(page.headers["cache-control"]).toBe("public, max-age=5");
      const body = page.json() as { items: { sku: string; unitPrice: number }[]; nextCursor: string | null };
      expect(body.items.length).toBeLessThanOrEqual(2);
      for (const item of body.items) expect(item.unitPrice).toEqual(expect.any(Number));
      skus.push(...body.items.map((item) => item.sku).filter((sku) => sku.startsWith("PAGE-")));
      cursor = body.nextCursor;
    } while (cursor);
    // Listed, sold in EUR, in sku order: not C (SEK only), not D (delisted).
    expect(skus).toEqual(["PAGE-A", "PAGE-B", "PAGE-E"]);

    const sek = (await get("/products?currency=SEK&limit=100")).json() as {
      items: { sku: string; unitPrice: number }[];
    };
    expect(sek.items.filter((item) => item.sku.startsWith("PAGE-"))).toEqual([
      expect.objectContaining({ sku: "PAGE-A", unitPrice: 10 }),
      expect.objectContaining({ sku: "PAGE-C", unitPrice: 30 }),
    ]);
    expectProblem(await get("/products?cursor=not-a-cursor"), 400, "invalid_cursor");
    expectProblem(await get("/products?currency=eur"), 400, "invalid_request");
    expectProblem(await get("/products?limit=1000"), 400, "invalid_request");
  });
});
