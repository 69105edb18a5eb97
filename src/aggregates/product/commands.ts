/** What the shop's operator can ask of a product in the catalog. Prices are integer minor units. */
export type ProductCommand =
  /**
   * Makes the product as given: listed (the default) or not, with this name and these prices.
   * Asking for what already holds records nothing.
   */
  | { type: "PutProduct"; data: { sku: string; name: string; prices: Prices; listed?: boolean | undefined } }
  | { type: "DelistProduct"; data: { sku: string } };

/** A price per currency the product is sold in: `{ EUR: 450, USD: 499 }`. */
export type Prices = Readonly<Record<string, number>>;
