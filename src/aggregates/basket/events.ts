/** The facts a basket's stream records, one past-tense event per fact. */
export type BasketEvent =
  | { type: "BasketCreated"; data: { basketId: string; visitorId: string | null; currency: string } }
  | { type: "ItemAdded"; data: { sku: string; name: string; unitPrice: number; quantity: number } }
  | { type: "ItemQuantityChanged"; data: { sku: string; quantity: number } }
  | { type: "ItemRemoved"; data: { sku: string } }
  | { type: "BasketCleared"; data: Record<string, never> }
  | { type: "BasketCheckedOut"; data: { itemCount: number; total: number } };

export const basketEventTypes: readonly BasketEvent["type"][] = [
  "BasketCreated",
  "ItemAdded",
  "ItemQuantityChanged",
  "ItemRemoved",
  "BasketCleared",
  "BasketCheckedOut",
];
