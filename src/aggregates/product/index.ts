/** The catalog: one stream per product, shaped like the basket — pure decide and evolve. */
export * from "./commands.js";
export { decide, type ProductDecision } from "./decide.js";
export * from "./errors.js";
export * from "./events.js";
export { evolve, fold } from "./evolve.js";
export * from "./state.js";

export const productStreamPrefix = "product-";
export const productStream = (sku: string): string => `${productStreamPrefix}${sku}`;
