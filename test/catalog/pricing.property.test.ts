import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminAuth, type CreatedBasket, createBasket } from "../support/baskets.js";
import { startCommandCluster } from "../support/command-cluster.js";

const json = { "content-type": "application/json" };
const runs = Number(process.env.PRICING_RUNS ?? 60);

/** What a shopper (or someone pretending to be one) may slip into an AddItem body. */
const junk = fc.oneof(
  fc.constant(undefined),
  fc.record({ unitPrice: fc.integer({ min: 0, max: 1_000 }) }),
  fc.record({ name: fc.string({ minLength: 1, maxLength: 10 }) }),
  fc.record({ offer: fc.record({ prices: fc.constant({ EUR: 1 }), listed: fc.boolean() }) }),
  fc.record({ price: fc.integer({ min: 0, max: 10 }) }),
);

const step = (skus: number) =>
  fc.oneof(
    fc.record({
      kind: fc.constant("price" as const),
      sku: fc.nat(skus - 1),
      price: fc.integer({ min: 0, max: 5_000 }),
    }),
    fc.record({ kind: fc.constant("delist" as const), sku: fc.nat(skus - 1) }),
    fc.record({
      kind: fc.constant("add" as const),
      basket: fc.nat(1),
      sku: fc.nat(skus - 1),
      quantity: fc.integer({ min: 1, max: 3 }),
      junk,
    }),
    fc.record({
      kind: fc.constant("change" as const),
      basket: fc.nat(1),
      sku: fc.nat(skus - 1),
      quantity: fc.nat(4),
    }),
    fc.record({ kind: fc.constant("checkout" as const), basket: fc.nat(1) }),
  );

interface Line {
  sku: string;
  unitPrice: number;
  quantity: number;
  lineTotal: number;
}
interface Basket {
  status: string;
  lines: Line[];
  total: number;
}

describe("prices, whatever happens", () => {
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

  it("checks out only at the catalog's prices at checkout, and nothing the client sends changes a price", {
    timeout: 300_000,
  }, async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(step(3), { minLength: 4, maxLength: 24 }), async (steps) => {
        run++;
        const skus = [0, 1, 2].map((i) => `PP-${run}-${i}`);
        /** The catalog as the operator left it: what every price at checkout must be. */
        const catalog = new Map<string, { price: number; listed: boolean }>();
        /** Every price the operator ever gave each product: the only prices a line may show. */
        const offered = new Map<string, Set<number>>();
        const baskets: CreatedBasket[] = [await createBasket(cluster.app), await createBasket(cluster.app)];
        const checkedOut = [false, false];
        const expectCatalogPrices = (basket: Basket) => {
          for (const line of basket.lines) {
            const product = catalog.get(line.sku);
            expect(product?.listed).toBe(true);
            expect(line.unitPrice).toBe(product?.price);
            expect(line.lineTotal).toBe(line.quantity * line.unitPrice);
          }
          expect(basket.total).toBe(basket.lines.reduce((sum, line) => sum + line.lineTotal, 0));
        };
        for (const s of steps) {
          if (s.kind === "price") {
            const sku = skus[s.sku] as string;
            const answer = await send(
              "PUT",
              `/products/${sku}`,
              { name: sku, prices: { EUR: s.price } },
              adminAuth,
            );
            expect(answer.statusCode).toBe(200);
            catalog.set(sku, { price: s.price, listed: true });
            offered.set(sku, (offered.get(sku) ?? new Set()).add(s.price));
            continue;
          }
          if (s.kind === "delist") {
            const sku = skus[s.sku] as string;
            const answer = await send("DELETE", `/products/${sku}`, undefined, adminAuth);
            expect(answer.statusCode).toBe(catalog.has(sku) ? 200 : 404);
            const known = catalog.get(sku);
            if (known) known.listed = false;
            continue;
          }
          const basket = baskets[s.basket] as CreatedBasket;
          if (s.kind === "add") {
            const sku = skus[s.sku] as string;
            const answer = await send(
              "POST",
              `/baskets/${basket.id}/items`,
              { sku, quantity: s.quantity, ...s.junk },
              basket.auth,
            );
            if (s.junk) {
              // Anything beyond {sku, quantity} is refused before it reaches a worker.
              expect(answer.statusCode).toBe(400);
              continue;
            }
            // An add may be priced from a worker's cache up to a second old, but only ever at a
            // price the operator set: the checkout then brings it to the catalog's current one.
            if (answer.statusCode === 200) {
              const line = (answer.json() as Basket).lines.find((candidate) => candidate.sku === sku);
              expect(offered.get(sku)).toContain(line?.unitPrice);
            } else expect([409, 422]).toContain(answer.statusCode);
            continue;
          }
          if (s.kind === "change") {
            const sku = skus[s.sku] as string;
            const answer = await send(
              "PUT",
              `/baskets/${basket.id}/items/${sku}`,
              { quantity: s.quantity },
              basket.auth,
            );
            expect([200, 409]).toContain(answer.statusCode);
            continue;
          }
          const answer = await send("POST", `/baskets/${basket.id}/checkout`, undefined, basket.auth);
          const body = answer.json() as Basket & { code?: string; basket?: Basket };
          if (answer.statusCode === 200) {
            // The one thing that matters: a checkout completes only at the catalog's prices now.
            expectCatalogPrices(body);
            expect(body.status).toBe("checked_out");
            checkedOut[s.basket] = true;
          } else if (body.code === "prices_changed") {
            expectCatalogPrices(body.basket as Basket);
          } else {
            expect(body.code).toBe(checkedOut[s.basket] ? "basket_checked_out" : "basket_empty");
          }
        }
      }),
      { numRuns: runs },
    );
  });
});
