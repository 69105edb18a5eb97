/**
 * What the basket needs to know of a product to price a line: the catalog's answer at the
 * moment a command is handled. The command handler looks it up and hands it in with the command
 * (src/commands), so `decide` stays pure; it never comes from the client.
 */
export interface ProductOffer {
  readonly sku: string;
  readonly name: string;
  /** Delisted products are no longer sold. */
  readonly listed: boolean;
  /** Minor units per currency the product is sold in. */
  readonly prices: Readonly<Record<string, number>>;
  /** The revision of the product's stream this offer comes from: recorded with the price. */
  readonly revision: number;
}
