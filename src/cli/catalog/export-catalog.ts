import { stringify } from "csv-stringify/sync";
import { evolve, initialProduct, type Product, productStreamPrefix } from "../../aggregates/product/index.js";
import { toProductEvent } from "../../events/index.js";
import type { Checkpoint, EventStore } from "../../eventstore/port.js";
import type { CatalogFormat } from "./catalog-file.js";

type KnownProduct = Exclude<Product, { status: "none" }>;

/**
 * Every product as its stream stands — the event store is the truth; the read model's table
 * follows it — in sku order: the file `basket catalog import` takes back.
 */
export async function catalogProducts(store: Pick<EventStore, "readAll">): Promise<KnownProduct[]> {
  const products = new Map<string, Product>();
  let after: Checkpoint | undefined;
  for (;;) {
    const page = await store.readAll({ after, limit: 5_000, streamPrefix: productStreamPrefix });
    if (page.events.length === 0 && !page.pending) break;
    if (page.events.length === 0) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      continue;
    }
    for (const event of page.events)
      products.set(event.stream, evolve(products.get(event.stream) ?? initialProduct, toProductEvent(event)));
    after = page.checkpoint;
  }
  return [...products.values()]
    .filter((product): product is KnownProduct => product.status !== "none")
    .sort((a, b) => (a.sku < b.sku ? -1 : a.sku > b.sku ? 1 : 0));
}

/** The products as a catalog file: NDJSON (one object a line) or CSV (a column per currency). */
export function formatCatalog(products: readonly KnownProduct[], format: CatalogFormat): string {
  if (format === "ndjson")
    return products
      .map(({ sku, name, prices, status }) =>
        JSON.stringify({ sku, name, prices, ...(status === "delisted" ? { listed: false } : {}) }),
      )
      .map((line) => `${line}\n`)
      .join("");
  const currencies = [...new Set(products.flatMap((product) => Object.keys(product.prices)))].sort();
  const rows = products.map((product) => [
    product.sku,
    product.name,
    ...currencies.map((currency) => product.prices[currency]?.toString() ?? ""),
    product.status === "listed" ? "true" : "false",
  ]);
  return stringify([["sku", "name", ...currencies, "listed"], ...rows]);
}
