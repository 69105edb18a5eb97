/** Limits a basket enforces. Money is integer minor units, so totals stay exact. */
export const rules = {
  minQuantity: 1,
  maxQuantity: 99,
  maxLines: 50,
  maxSkuLength: 64,
  maxNameLength: 200,
  maxVisitorIdLength: 128,
  /** Keeps every total far below 2^53: 50 lines × 99 × 10^9 ≈ 5·10^12. */
  maxUnitPrice: 1_000_000_000,
  /** Currencies one product is priced in. */
  maxCurrencies: 50,
  defaultCurrency: "EUR",
} as const;

/** Text with no control characters and no lone UTF-16 surrogates: PostgreSQL stores neither. */
export const storableText = /^[^\p{Cc}\p{Cs}]*$/u;

const currencies = new Set(Intl.supportedValuesOf("currency"));

export const isCurrency = (code: string): boolean => currencies.has(code);
