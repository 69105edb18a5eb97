import type { Prices } from "./commands.js";

interface KnownProduct {
  readonly sku: string;
  readonly name: string;
  readonly prices: Prices;
}

/** A product as its stream leaves it: never listed, listed (sold), or delisted (no longer sold). */
export type Product =
  | { readonly status: "none" }
  | ({ readonly status: "listed" } & KnownProduct)
  | ({ readonly status: "delisted" } & KnownProduct);

export const initialProduct: Product = { status: "none" };

/** Whether two price lists are the same, whatever the order of their currencies. */
export function samePrices(a: Prices, b: Prices): boolean {
  const currencies = Object.keys(a);
  return (
    currencies.length === Object.keys(b).length && currencies.every((currency) => a[currency] === b[currency])
  );
}
