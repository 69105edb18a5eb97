import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { basketStream } from "../../src/aggregates/basket/index.js";
import { adminAuth, type CreatedBasket, createBasket } from "../support/baskets.js";
import { startCommandCluster } from "../support/command-cluster.js";
import { expectProblem } from "../support/problems.js";

const json = { "content-type": "application/json" };

describe("prices come from the shop's catalog, never from the shopper", () => {
  let cluster: Awaited<ReturnType<typeof startCommandCluster>>;
  beforeAll(async () => {
    cluster = await startCommandCluster({ workers: 2 });
  });
  afterAll(() => cluster?.stop());

  const send = (method: "POST" | "PUT" | "DELETE", url: string, body?: unknown, headers = {}) =>
    cluster.app.inject({
      method,
      url,
      headers: body === undefined ? headers : { ...json, ...headers },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });
  const operator = {
    put: (sku: string, prices: Record<string, number>, name = `Shop ${sku}`) =>
      send("PUT", `/products/${sku}`, { name, prices }, adminAuth),
    delist: (sku: string) => send("DELETE", `/products/${sku}`, undefined, adminAuth),
  };
  const add = (basket: CreatedBasket, body: unknown, headers = {}) =>
    send("POST", `/baskets/${basket.id}/items`, body, { ...basket.auth, ...headers });
  const checkOut = (basket: CreatedBasket, headers = {}) =>
    send("POST", `/baskets/${basket.id}/checkout`, undefined, { ...basket.auth, ...headers });
  const events = async (basket: CreatedBasket) =>
    (await cluster.store.readStream(basketStream(basket.id))).map(({ type, data }) => ({ type, data }));

  it("prices an item from the catalog: the catalog's name and price, and the product revision it came from", async () => {
    await operator.put("PR-TEA", { EUR: 450, SEK: 4900 }, "Green tea");
    const basket = await createBasket(cluster.app);
    const added = await add(basket, { sku: "PR-TEA", quantity: 2 });
    expect(added.statusCode).toBe(200);
    expect(added.json()).toMatchObject({
      total: 900,
      lines: [{ sku: "PR-TEA", name: "Green tea", unitPrice: 450, quantity: 2, lineTotal: 900 }],
    });
    expect((await cluster.store.readStream(basketStream(basket.id))).at(-1)).toMatchObject({
      type: "ItemAdded",
      data: { sku: "PR-TEA", name: "Green tea", unitPrice: 450, quantity: 2, productRevision: 0 },
      metadata: { schemaVersion: 2 },
    });
    const sek = await createBasket(cluster.app, { currency: "SEK" });
    expect((await add(sek, { sku: "PR-TEA", quantity: 1 })).json()).toMatchObject({ total: 4900 });
  });

  it.each([
    ["a unit price", { sku: "PR-TEA", quantity: 99, unitPrice: 1 }],
    ["a price of nothing", { sku: "PR-TEA", quantity: 5, unitPrice: 0 }],
    ["a name", { sku: "PR-TEA", quantity: 1, name: "Free tea" }],
  ])("refuses an item that comes with %s, and records nothing", async (_, body) => {
    await operator.put("PR-TEA", { EUR: 450, SEK: 4900 }, "Green tea");
    const basket = await createBasket(cluster.app);
    const refused = await add(basket, body);
    expectProblem(refused, 400, "prices_come_from_catalog");
    expect((refused.json() as { detail: string }).detail).toMatch(/come from the catalog/);
    expect(await events(basket)).toHaveLength(1);
  });

  it("refuses, each with its own code, what the catalog does not sell — recording nothing", async () => {
    await operator.put("PR-EUR-ONLY", { EUR: 100 });
    await operator.put("PR-DELISTED", { EUR: 100 });
    await operator.delist("PR-DELISTED");
    const basket = await createBasket(cluster.app, { currency: "SEK" });
    expectProblem(await add(basket, { sku: "PR-NEVER", quantity: 1 }), 422, "unknown_product");
    expectProblem(await add(basket, { sku: "PR-DELISTED", quantity: 1 }), 422, "product_delisted");
    expectProblem(await add(basket, { sku: "PR-EUR-ONLY", quantity: 1 }), 422, "no_price_in_currency");
    expect(await events(basket)).toHaveLength(1);
  });

  it("prices the whole line anew when an sku is added again after the price changed", async () => {
    await operator.put("PR-MUG", { EUR: 1290 });
    const basket = await createBasket(cluster.app);
    await add(basket, { sku: "PR-MUG", quantity: 1 });
    await operator.put("PR-MUG", { EUR: 1390 });
    // A checkout would read the catalog fresh; an add may price from a cache up to a second old.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect((await add(basket, { sku: "PR-MUG", quantity: 1 })).json()).toMatchObject({
      lines: [{ sku: "PR-MUG", unitPrice: 1390, quantity: 2, lineTotal: 2780 }],
      total: 2780,
    });
  });

  it("refuses a checkout at a price the catalog no longer offers, showing the new one; checking out again succeeds", async () => {
    await operator.put("PR-POT", { EUR: 3900 });
    await operator.put("PR-CUP", { EUR: 500 });
    await operator.put("PR-BAG", { EUR: 200 });
    const basket = await createBasket(cluster.app);
    await add(basket, { sku: "PR-POT", quantity: 1 });
    await add(basket, { sku: "PR-CUP", quantity: 2 });
    await add(basket, { sku: "PR-BAG", quantity: 3 });
    // Straight after the operator's change: the checkout must see it, whatever any cache holds.
    await operator.put("PR-POT", { EUR: 4200 });
    await operator.delist("PR-BAG");

    const refused = await checkOut(basket, { "idempotency-key": "checkout-after-price-change-1" });
    expectProblem(refused, 409, "prices_changed");
    expect(refused.json()).toMatchObject({
      changes: [
        { sku: "PR-POT", was: 3900, now: 4200, reason: "repriced" },
        { sku: "PR-BAG", was: 200, now: null, reason: "delisted" },
      ],
      basket: { status: "open", total: 4200 + 2 * 500, revision: 5 },
    });
    expect((await events(basket)).slice(4)).toEqual([
      {
        type: "LineRepriced",
        data: { sku: "PR-POT", name: "Shop PR-POT", unitPrice: 4200, productRevision: 1 },
      },
      { type: "LineRemoved", data: { sku: "PR-BAG", reason: "delisted" } },
    ]);

    // The same request again is the same answer, recorded once.
    const replayed = await checkOut(basket, { "idempotency-key": "checkout-after-price-change-1" });
    expectProblem(replayed, 409, "prices_changed");
    expect(replayed.json()).toMatchObject({ changes: (refused.json() as { changes: unknown }).changes });
    expect(await events(basket)).toHaveLength(6);

    const done = await checkOut(basket);
    expect(done.statusCode).toBe(200);
    expect(done.json()).toMatchObject({ status: "checked_out", total: 4200 + 2 * 500 });
    expect((await events(basket)).at(-1)).toEqual({
      type: "BasketCheckedOut",
      data: { itemCount: 3, total: 5200 },
    });
  });
});
