/**
 * The facts a basket's stream records, one past-tense event per fact. Each has a schema version
 * (src/events): an event stored in an older shape is read through an upcaster, never rewritten.
 */
export type BasketEvent =
  | { type: "BasketCreated"; data: { basketId: string; visitorId: string | null; currency: string } }
  | {
      type: "ItemAdded";
      data: {
        sku: string;
        /** The catalog's name and price when added; the price applies to the whole line. */
        name: string;
        unitPrice: number;
        quantity: number;
        /** The product's revision the price came from; null for a price from before the catalog. */
        productRevision: number | null;
      };
    }
  | { type: "ItemQuantityChanged"; data: { sku: string; quantity: number } }
  | { type: "ItemRemoved"; data: { sku: string } }
  | { type: "BasketCleared"; data: Record<string, never> }
  /** At checkout the catalog's price had changed: the line now costs this. */
  | {
      type: "LineRepriced";
      data: { sku: string; name: string; unitPrice: number; productRevision: number };
    }
  /** At checkout the product could no longer be sold in the basket's currency: the line went. */
  | { type: "LineRemoved"; data: { sku: string; reason: LineRemovedReason } }
  | { type: "BasketCheckedOut"; data: { itemCount: number; total: number } };

export type LineRemovedReason = "delisted" | "no_price_in_currency" | "unknown_product";

export const basketEventTypes: readonly BasketEvent["type"][] = [
  "BasketCreated",
  "ItemAdded",
  "ItemQuantityChanged",
  "ItemRemoved",
  "BasketCleared",
  "LineRepriced",
  "LineRemoved",
  "BasketCheckedOut",
];
