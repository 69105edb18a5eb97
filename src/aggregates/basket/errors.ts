/** Stable, machine-readable codes: clients branch on these, so never rename one. */
export const basketErrorCodes = {
  basket_not_found: "The basket does not exist.",
  basket_already_exists: "A basket with this id already exists.",
  basket_checked_out: "The basket is checked out and can no longer change.",
  basket_empty: "An empty basket cannot be checked out.",
  item_not_in_basket: "The basket has no line with this sku.",
  too_many_lines: "The basket already holds the maximum number of distinct lines.",
  quantity_out_of_range: "A line's quantity must stay between 1 and 99.",
  invalid_unit_price: "The unit price must be a non-negative integer number of minor units within bounds.",
  invalid_sku: "The sku must be a non-empty string within bounds.",
  invalid_name: "The name must be a non-empty string within bounds.",
  invalid_currency: "The currency must be an ISO 4217 code.",
  invalid_visitor_id: "The visitor id must be a non-empty string within bounds.",
} as const;

export type BasketErrorCode = keyof typeof basketErrorCodes;

/** A command the basket refuses: `decide` returns it instead of events, and nothing is written. */
export interface BasketRefusal {
  readonly kind: "refusal";
  readonly code: BasketErrorCode;
  readonly message: string;
}

export const refuse = (code: BasketErrorCode, detail?: string): BasketRefusal => ({
  kind: "refusal",
  code,
  message: detail ? `${basketErrorCodes[code]} ${detail}` : basketErrorCodes[code],
});

export const isRefusal = (decision: unknown): decision is BasketRefusal =>
  (decision as BasketRefusal | undefined)?.kind === "refusal";
