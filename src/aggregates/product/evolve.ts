import type { ProductEvent } from "./events.js";
import { initialProduct, type Product } from "./state.js";

/** Applies one recorded fact to a product. */
export function evolve(product: Product, event: ProductEvent): Product {
  switch (event.type) {
    case "ProductListed":
      return { status: "listed", ...event.data };
    case "ProductChanged":
      if (product.status === "none") return product;
      return {
        ...product,
        ...(event.data.name === undefined ? {} : { name: event.data.name }),
        ...(event.data.prices === undefined ? {} : { prices: event.data.prices }),
      };
    case "ProductDelisted":
      return product.status === "none" ? product : { ...product, status: "delisted" };
    default:
      return unknownEvent(event);
  }
}

export const fold = (events: Iterable<ProductEvent>, from: Product = initialProduct): Product => {
  let product = from;
  for (const event of events) product = evolve(product, event);
  return product;
};

function unknownEvent(event: never): never {
  throw new Error(`Unknown product event: ${JSON.stringify((event as { type: unknown }).type)}`);
}
