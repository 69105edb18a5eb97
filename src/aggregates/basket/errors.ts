import type { BasketEvent } from "./events.js";

/** Stable, machine-readable codes: clients branch on these, so never rename one. */
export const basketErrorCodes = {
  basket_not_found: "The basket does not exist.",
  basket_already_exists: "A basket with this id already exists.",
  basket_checked_out: "The basket is checked out and can no longer change.",
  basket_empty: "An empty basket cannot be checked out.",
  item_not_in_basket: "The basket has no line with this sku.",
  too_many_lines: "The basket already holds the maximum number of distinct lines.",
  quantity_out_of_range: "A line's quantity must stay between 1 and 99.",
  invalid_sku: "The sku must be a non-empty string within bounds.",
  invalid_currency: "The currency must be an ISO 4217 code.",
  invalid_visitor_id: "The visitor id must be a non-empty string within bounds.",
  unknown_product: "The catalog has no product with this sku.",
  product_delisted: "The product is no longer sold.",
  no_price_in_currency: "The product is not sold in the basket's currency.",
  prices_changed:
    "The catalog changed since these lines were added: the basket now shows the new prices; check out again to accept them.",
} as const;

export type BasketErrorCode = keyof typeof basketErrorCodes;

/**
 * A command the basket refuses: `decide` returns it instead of events. Nothing is written —
 * unless it says what it found on the way (`record`): a checkout that finds the catalog's prices
 * changed records the new prices, and is refused so the shopper sees them before paying.
 */
export interface BasketRefusal {
  readonly kind: "refusal";
  readonly code: BasketErrorCode;
  readonly message: string;
  readonly record?: readonly BasketEvent[];
}

export const refuse = (
  code: BasketErrorCode,
  detail?: string,
  record?: readonly BasketEvent[],
): BasketRefusal => ({
  kind: "refusal",
  code,
  message: detail ? `${basketErrorCodes[code]} ${detail}` : basketErrorCodes[code],
  ...(record ? { record } : {}),
});

export const isRefusal = (decision: unknown): decision is BasketRefusal =>
  (decision as BasketRefusal | undefined)?.kind === "refusal";
