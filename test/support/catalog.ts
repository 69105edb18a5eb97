import { productStream } from "../../src/aggregates/product/index.js";
import { openDatabase } from "../../src/db/database.js";
import { migrateToLatest } from "../../src/db/migrate.js";
import { versionOf } from "../../src/events/index.js";
import type { EventStore } from "../../src/eventstore/port.js";
import { PostgresEventStore } from "../../src/eventstore/postgres/postgres-event-store.js";
import { adminAuth } from "./baskets.js";

/** The currencies every test product is priced in: the ones test baskets are created in. */
export const testCurrencies = ["EUR", "SEK", "USD", "JPY"] as const;

/** The price a test gives a product, the same in every test currency: `{ tea: 450, mug: 1290 }`. */
export type TestPrices = Record<string, number>;

/** Where a sku's price comes from when a test does not say: 250 minor units, as tests long used. */
export const defaultTestPrice = 250;

/** The name the catalog gives a test product: what a line shows after an add. */
export const testProductName = (sku: string) => `Product ${sku}`;

const entriesOf = (products: TestPrices | readonly string[]): [string, number][] =>
  Array.isArray(products) ? products.map((sku) => [sku, defaultTestPrice]) : Object.entries(products);

/** One price in every test currency. */
export const pricesOf = (price: number) =>
  Object.fromEntries(testCurrencies.map((currency) => [currency, price]));

/**
 * Lists products in the store's catalog, as the operator would (one ProductListed each, with
 * its schema version): the worker prices baskets from these streams. Each sku is priced in
 * every test currency; a sku already listed is left alone (its stream exists).
 */
export async function seedCatalog(
  store: Pick<EventStore, "append">,
  products: TestPrices | readonly string[],
): Promise<void> {
  await Promise.all(
    entriesOf(products).map(([sku, price]) =>
      store
        .append(
          productStream(sku),
          [
            {
              type: "ProductListed",
              data: {
                sku,
                name: testProductName(sku),
                prices: pricesOf(price),
              },
              metadata: versionOf("ProductListed"),
            },
          ],
          "no_stream",
        )
        .catch((error: unknown) => {
          if ((error as { name?: string }).name !== "WrongExpectedRevision") throw error;
        }),
    ),
  );
}

/**
 * The same in the PostgreSQL database a test's service processes run on (`serve` with
 * DATABASE_URL), migrating it first: the seed may come before the first process has.
 */
export async function seedCatalogAt(
  databaseUrl: string,
  products: TestPrices | readonly string[],
): Promise<void> {
  const database = await openDatabase({ kind: "postgres", url: databaseUrl, poolSize: 2 });
  try {
    await migrateToLatest(database);
    await seedCatalog(new PostgresEventStore(database), products);
  } finally {
    await database.close();
  }
}

/**
 * The same through a running service's API, as its operator would (`PUT /products/:sku` with the
 * test admin token: the service needs ADMIN_TOKENS from `operatorEnv`). A product already listed
 * at that price is left as it is.
 */
export async function putCatalog(
  url: string,
  products: TestPrices | readonly string[],
  auth: Record<string, string> = adminAuth,
): Promise<void> {
  for (const [sku, price] of entriesOf(products)) {
    const response = await fetch(`${url}/products/${encodeURIComponent(sku)}`, {
      method: "PUT",
      headers: { "content-type": "application/json", ...auth },
      body: JSON.stringify({ name: testProductName(sku), prices: pricesOf(price) }),
    });
    if (response.status !== 200)
      throw new Error(`PUT /products/${sku} answered ${response.status}: ${await response.text()}`);
  }
}

/** A pool of skus for tests that add many different products: `sku-0` … `sku-<n-1>`. */
export const skuPool = (count: number) => Array.from({ length: count }, (_, i) => `sku-${i}`);
