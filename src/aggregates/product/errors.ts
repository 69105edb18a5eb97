/** Stable, machine-readable codes: clients branch on these, so never rename one. */
export const productErrorCodes = {
  product_not_found: "The catalog has no product with this sku.",
  invalid_sku: "The sku must be a non-empty string within bounds.",
  invalid_name: "The name must be a non-empty string within bounds.",
  invalid_prices:
    "Prices are a non-empty map of ISO 4217 currency codes to non-negative integer minor units within bounds.",
} as const;

export type ProductErrorCode = keyof typeof productErrorCodes;

/** A command the catalog refuses: `decide` returns it instead of events, and nothing is written. */
export interface ProductRefusal {
  readonly kind: "refusal";
  readonly code: ProductErrorCode;
  readonly message: string;
}

export const refuse = (code: ProductErrorCode, detail?: string): ProductRefusal => ({
  kind: "refusal",
  code,
  message: detail ? `${productErrorCodes[code]} ${detail}` : productErrorCodes[code],
});
