import { v7 as uuidv7 } from "uuid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { basketStream } from "../../src/aggregates/basket/index.js";
import { adminAuth, type CreatedBasket, createBasket as create } from "../support/baskets.js";
import { skuPool } from "../support/catalog.js";
import { startCommandCluster } from "../support/command-cluster.js";
import { storeBackends } from "../support/event-stores.js";
import { expectProblem } from "../support/problems.js";

const json = { "content-type": "application/json" };

describe.each(storeBackends)("REST → NATS → worker → %s", (backend) => {
  let cluster: Awaited<ReturnType<typeof startCommandCluster>>;
  beforeAll(async () => {
    cluster = await startCommandCluster({ workers: 2, backend });
    await cluster.seedCatalog({ tea: 450, mug: 1290, pot: 3000 });
    await cluster.seedCatalog(["A/B 1", "a", "b", "shared", "last", ...skuPool(40)]);
  });
  afterAll(() => cluster?.stop());

  const request = (method: "GET" | "POST" | "PUT" | "DELETE", url: string, body?: unknown, headers = {}) =>
    cluster.app.inject({
      method,
      url,
      headers: body === undefined ? headers : { ...json, ...headers },
      ...(body === undefined ? {} : { payload: typeof body === "string" ? body : JSON.stringify(body) }),
    });
  const createBasket = (body?: object, headers?: Record<string, string>) =>
    create(cluster.app, body, headers);
  /** A request on one basket's route, with its token. */
  const on = (
    basket: CreatedBasket,
    method: "GET" | "POST" | "PUT" | "DELETE",
    path: string,
    body?: unknown,
    headers = {},
  ) => request(method, `/baskets/${basket.id}${path}`, body, { ...basket.auth, ...headers });
  /** What a client adds: the name and the price are the catalog's. */
  const item = (sku: string, quantity = 1) => ({ sku, quantity });
  const events = (basketId: string) => cluster.store.readStream(basketStream(basketId));

  it("drives a basket through its whole life", async () => {
    const basket = await createBasket({ visitorId: "visitor-7", currency: "SEK" });
    const { id, response: created } = basket;
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-/);
    expect(created.headers.location).toBe(`/baskets/${id}`);
    expect(created.headers.etag).toBe('"0"');
    expect(created.headers["x-global-position"]).toMatch(/^\d+$/);
    expect(created.json()).toEqual({
      id,
      visitorId: "visitor-7",
      status: "open",
      currency: "SEK",
      lines: [],
      itemCount: 0,
      total: 0,
      revision: 0,
      token: basket.token,
    });

    expect((await on(basket, "POST", `/items`, item("tea", 2))).json()).toMatchObject({
      revision: 1,
      total: 900,
      lines: [{ sku: "tea", name: "Product tea", unitPrice: 450, quantity: 2, lineTotal: 900 }],
    });
    await on(basket, "POST", `/items`, item("mug"));
    const changed = await on(basket, "PUT", `/items/tea`, { quantity: 5 });
    expect(changed.json()).toMatchObject({ revision: 3, itemCount: 6, total: 5 * 450 + 1290 });
    expect(changed.headers.etag).toBe('"3"');
    expect((await on(basket, "DELETE", `/items/mug`)).json()).toMatchObject({
      revision: 4,
      total: 2250,
    });
    expect((await on(basket, "DELETE", `/items`)).json()).toMatchObject({
      revision: 5,
      lines: [],
      total: 0,
    });
    await on(basket, "POST", `/items`, item("pot"));
    const checkedOut = await on(basket, "POST", `/checkout`);
    expect(checkedOut.statusCode).toBe(200);
    expect(checkedOut.json()).toMatchObject({ status: "checked_out", total: 3000, revision: 7 });

    expect((await events(basket.id)).map((e) => e.type)).toEqual([
      "BasketCreated",
      "ItemAdded",
      "ItemAdded",
      "ItemQuantityChanged",
      "ItemRemoved",
      "BasketCleared",
      "ItemAdded",
      "BasketCheckedOut",
    ]);
  });

  it("takes an sku with characters that need escaping in the path", async () => {
    const basket = await createBasket();
    await on(basket, "POST", `/items`, item("A/B 1"));
    const removed = await on(basket, "DELETE", `/items/${encodeURIComponent("A/B 1")}`);
    expect(removed.statusCode).toBe(200);
    expect(removed.json().lines).toEqual([]);
  });

  describe("refuses bad input with 400 and writes nothing", () => {
    it.each([
      ["a missing field", { sku: "a" }],
      ["an unknown field", { ...item("a"), colour: "red" }],
      ["a quantity given as text", { ...item("a"), quantity: "2" }],
      ["a quantity of 100", item("a", 100)],
      ["an empty sku", item("")],
      ["a blank sku", item("   ")],
      ["an array", [item("a")]],
      // Text PostgreSQL could not store: refused here, not by the store.
      ["an sku with a NUL", item("a\u0000")],
      ["an sku with half a surrogate pair", item("\ud83d")],
      ["an sku with a control character", item("a\u001b[2J")],
    ])("%s", async (_, body) => {
      const basket = await createBasket();
      expectProblem(await on(basket, "POST", `/items`, body), 400, "invalid_request");
      expect(await events(basket.id)).toHaveLength(1);
    });

    it.each([
      ["a price", { ...item("a"), unitPrice: 1 }],
      ["a fractional price", { ...item("a"), unitPrice: 2.5 }],
      ["a negative price", { ...item("a"), unitPrice: -1 }],
      ["a name", { ...item("a"), name: "Tea" }],
      ["a blank name", { ...item("a"), name: "   " }],
      ["a name and a price, as the old API took them", { ...item("a"), name: "A", unitPrice: 1 }],
    ])("%s from the client: prices and names come from the catalog", async (_, body) => {
      const basket = await createBasket();
      expectProblem(await on(basket, "POST", `/items`, body), 400, "prices_come_from_catalog");
      expect(await events(basket.id)).toHaveLength(1);
    });

    it("a body that is not JSON", async () => {
      const basket = await createBasket();
      expectProblem(await on(basket, "POST", `/items`, "{not json"), 400, "invalid_json");
      expect(await events(basket.id)).toHaveLength(1);
    });

    it("a basket id that is not a UUID", async () => {
      const asOperator = await request("POST", "/baskets/not-a-uuid/items", item("a"), adminAuth);
      expectProblem(asOperator, 400, "invalid_request");
    });

    it("a currency that is not ISO 4217", async () => {
      expectProblem(await request("POST", "/baskets", { currency: "euro" }), 400, "invalid_request");
      expectProblem(await request("POST", "/baskets", { currency: "XXY" }), 409, "invalid_currency");
    });

    it("an unusable Idempotency-Key or If-Match", async () => {
      const basket = await createBasket();
      expectProblem(
        await on(basket, "POST", `/items`, item("a"), { "idempotency-key": "x".repeat(201) }),
        400,
        "invalid_request",
      );
      expectProblem(
        await on(basket, "POST", `/items`, item("a"), { "if-match": 'W/"1"' }),
        400,
        "invalid_request",
      );
      expect(await events(basket.id)).toHaveLength(1);
      // A basket being created has no revision to match.
      const created = await request("POST", "/baskets", { visitorId: "v" }, { "if-match": '"0"' });
      expectProblem(created, 400, "invalid_request");
      expect(created.json().detail).toMatch(/If-Match is not for a create/);
    });

    it("an unknown route", async () => {
      expectProblem(await request("GET", "/nowhere"), 404, "route_not_found");
    });
  });

  it("answers the operator 404 for a basket that does not exist", async () => {
    const add = await request("POST", `/baskets/${uuidv7()}/items`, item("a"), adminAuth);
    expectProblem(add, 404, "basket_not_found");
    expectProblem(
      await request("POST", `/baskets/${uuidv7()}/checkout`, undefined, adminAuth),
      404,
      "basket_not_found",
    );
  });

  it("answers 409 with the rule's code when the basket refuses", async () => {
    const basket = await createBasket();
    expectProblem(await on(basket, "POST", `/checkout`), 409, "basket_empty");
    expectProblem(await on(basket, "PUT", `/items/absent`, { quantity: 2 }), 409, "item_not_in_basket");
    await on(basket, "POST", `/items`, item("a", 60));
    expectProblem(await on(basket, "POST", `/items`, item("a", 40)), 409, "quantity_out_of_range");
    expect(await events(basket.id)).toHaveLength(2);
  });

  it("answers 412 when If-Match is not the basket's revision, and applies it when it is", async () => {
    const basket = await createBasket();
    await on(basket, "POST", `/items`, item("a"));
    const stale = await on(basket, "POST", `/items`, item("b"), { "if-match": '"0"' });
    expectProblem(stale, 412, "revision_mismatch");
    expect(stale.json()).toMatchObject({ expectedRevision: 0, actualRevision: 1 });
    const current = await on(basket, "POST", `/items`, item("b"), { "if-match": '"1"' });
    expect(current.statusCode).toBe(200);
    expect(current.headers.etag).toBe('"2"');
  });

  it("applies a command retried with the same Idempotency-Key once", async () => {
    const basket = await createBasket();
    const headers = { "idempotency-key": `add-${uuidv7()}` };
    const first = await on(basket, "POST", `/items`, item("a", 2), headers);
    await on(basket, "POST", `/items`, item("b"));
    const retry = await on(basket, "POST", `/items`, item("a", 2), headers);
    expect(retry.statusCode).toBe(200);
    expect(retry.headers["idempotent-replayed"]).toBe("true");
    expect(retry.headers.etag).toBe(first.headers.etag);
    expect(retry.json()).toEqual(first.json());
    expect((await events(basket.id)).filter((e) => e.type === "ItemAdded")).toHaveLength(2);
  });

  it("creates one basket for a create retried with the same Idempotency-Key", async () => {
    const headers = { "idempotency-key": `create-${uuidv7()}` };
    const first = await createBasket({ visitorId: "v" }, headers);
    const retry = await createBasket({ visitorId: "v" }, headers);
    expect(retry.id).toBe(first.id);
    expect(retry.token).toBe(first.token);
    expect(await events(first.id)).toHaveLength(1);
  });

  it("loses no update when two workers race on one basket", async () => {
    const basket = await createBasket();
    await on(basket, "POST", `/items`, item("shared", 1));
    const skus = skuPool(40);
    const [distinct, increments] = await Promise.all([
      Promise.all(skus.map((sku) => on(basket, "POST", `/items`, item(sku)))),
      Promise.all(skus.map(() => on(basket, "POST", `/items`, item("shared", 1)))),
    ]);
    // A command may give up after many conflicts (409 write_conflict), but then it changed nothing.
    for (const response of [...distinct, ...increments]) {
      if (response.statusCode !== 200) expectProblem(response, 409, "write_conflict");
    }
    const acked = (responses: typeof distinct) => responses.filter((r) => r.statusCode === 200).length;
    const final = (await on(basket, "POST", `/items`, item("last"))).json();
    expect(final.lines.map((line: { sku: string }) => line.sku).sort()).toEqual(
      ["shared", "last", ...skus.filter((_, i) => distinct[i]?.statusCode === 200)].sort(),
    );
    expect(final.lines.find((line: { sku: string }) => line.sku === "shared").quantity).toBe(
      1 + acked(increments),
    );
    expect(final.revision).toBe(2 + acked(distinct) + acked(increments));
    expect(acked(distinct) + acked(increments)).toBeGreaterThan(70);
    const served = cluster.workers.map(({ handler }) => handler.stats.cacheHits + handler.stats.cacheMisses);
    expect(served.every((n) => n > 0)).toBe(true);
  });

  it("is discoverable with $SRV.PING and reports per-endpoint counts in $SRV.STATS", async () => {
    const pings = [];
    for await (const reply of await cluster.apiNc.requestMany(`$SRV.PING.${cluster.prefix}`, undefined, {
      maxWait: 500,
    })) {
      pings.push(reply.json());
    }
    expect(pings).toHaveLength(2);
    const stats = (await cluster.apiNc.request(`$SRV.STATS.${cluster.prefix}`)).json<{
      endpoints: { name: string; num_requests: number; data: { succeeded: number } }[];
    }>();
    expect(stats.endpoints[0]).toMatchObject({ name: "commands", num_requests: expect.any(Number) });
    expect(stats.endpoints[0]?.num_requests).toBeGreaterThan(0);
    expect(stats.endpoints[0]?.data.succeeded).toBeGreaterThan(0);
  });
});
