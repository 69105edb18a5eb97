import type { ProductCommandHandler } from "../../commands/catalog/product-command-handler.js";
import type { Progress } from "../events/progress.js";
import type { CatalogLine } from "./catalog-file.js";

export interface CatalogImportSummary {
  products: number;
  /** Listed (or changed) by this import. */
  changed: number;
  delisted: number;
  /** Already as the file says: nothing recorded. */
  unchanged: number;
}

/**
 * Applies a checked catalog, product by product: each product is one append to its own stream,
 * done whole or not at all, and one already as the file says records nothing — so running an
 * import twice changes nothing the second time, and one stopped half-way is finished by running
 * it again.
 */
export async function importCatalog(
  products: ProductCommandHandler,
  lines: readonly CatalogLine[],
  progress: Progress,
): Promise<CatalogImportSummary> {
  const summary = { products: lines.length, changed: 0, delisted: 0, unchanged: 0 };
  for (const { sku, name, prices, listed } of lines) {
    const put = await products.handle({ type: "PutProduct", data: { sku, name, prices, listed } });
    if (!put.ok) throw new Error(`Product ${sku}: ${put.message}`);
    if (!put.changed) summary.unchanged++;
    else if (listed) summary.changed++;
    else summary.delisted++;
    progress.add(1);
  }
  return summary;
}
