import type { Prices } from "./commands.js";

/** The facts a product's stream records. Its price history is this stream. */
export type ProductEvent =
  | { type: "ProductListed"; data: { sku: string; name: string; prices: Prices } }
  /** Only what changed: a name, prices, or both. */
  | { type: "ProductChanged"; data: { sku: string; name?: string; prices?: Prices } }
  | { type: "ProductDelisted"; data: { sku: string } };

export const productEventTypes: readonly ProductEvent["type"][] = [
  "ProductListed",
  "ProductChanged",
  "ProductDelisted",
];
