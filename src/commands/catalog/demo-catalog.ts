import type { Prices } from "../../aggregates/product/index.js";
import type { ProductCommandHandler } from "./product-command-handler.js";

/** What the demo shop sells (`npm start`, `basket demo`): prices in minor units per currency. */
export const demoProducts: readonly { sku: string; name: string; prices: Prices }[] = [
  { sku: "TEA-001", name: "Green tea", prices: { EUR: 450, USD: 499, SEK: 4900 } },
  { sku: "TEA-002", name: "Earl Grey", prices: { EUR: 520, USD: 569 } },
  { sku: "MUG-001", name: "Stoneware mug", prices: { EUR: 1290, USD: 1390, SEK: 13900 } },
  { sku: "POT-001", name: "Cast-iron teapot", prices: { EUR: 3900, USD: 4290 } },
];

/**
 * Lists the demo products, so the embedded default's shop works on a fresh machine. Only into
 * an empty catalog (`isEmpty`): an operator's catalog is never touched. Returns how many it listed.
 */
export async function seedDemoCatalog(products: ProductCommandHandler, isEmpty: () => Promise<boolean>) {
  if (!(await isEmpty())) return 0;
  for (const { sku, name, prices } of demoProducts) {
    const outcome = await products.handle({ type: "PutProduct", data: { sku, name, prices } });
    if (!outcome.ok) throw new Error(`The demo catalog is not valid: ${outcome.message}`);
  }
  return demoProducts.length;
}
