import { productStream } from "../../src/aggregates/product/index.js";
import { versionOf } from "../../src/events/index.js";
import type { EventStore } from "../../src/eventstore/port.js";

/** The currencies every test product is priced in: the ones test baskets are created in. */
export const testCurrencies = ["EUR", "SEK", "USD", "JPY"] as const;

/** The price a test gives a product, the same in every test currency: `{ tea: 450, mug: 1290 }`. */
export type TestPrices = Record<string, number>;

/** Where a sku's price comes from when a test does not say: 250 minor units, as tests long used. */
export const defaultTestPrice = 250;

/** The name the catalog gives a test product: what a line shows after an add. */
export const testProductName = (sku: string) => `Product ${sku}`;

/**
 * Lists products in the store's catalog, as the operator would (one ProductListed each, with
 * its schema version): the worker prices baskets from these streams. Each sku is priced in
 * every test currency; a sku already listed is left alone (its stream exists).
 */
export async function seedCatalog(
  store: Pick<EventStore, "append">,
  products: TestPrices | readonly string[],
): Promise<void> {
  const entries: [string, number][] = Array.isArray(products)
    ? products.map((sku) => [sku, defaultTestPrice])
    : Object.entries(products);
  await Promise.all(
    entries.map(([sku, price]) =>
      store
        .append(
          productStream(sku),
          [
            {
              type: "ProductListed",
              data: {
                sku,
                name: testProductName(sku),
                prices: Object.fromEntries(testCurrencies.map((currency) => [currency, price])),
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

/** A pool of skus for tests that add many different products: `sku-0` … `sku-<n-1>`. */
export const skuPool = (count: number) => Array.from({ length: count }, (_, i) => `sku-${i}`);
