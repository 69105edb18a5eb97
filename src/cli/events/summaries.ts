import type { Basket, BasketEvent } from "../../aggregates/basket/index.js";
import type { Prices, ProductEvent } from "../../aggregates/product/index.js";
import type { JsonValue } from "../../eventstore/port.js";

/**
 * One line of plain words per basket event, for `events history`. The basket as it was before
 * the event supplies what the event alone does not say: the currency, the quantity a change
 * replaced, how many lines a clear removed.
 */
export function summarise(
  stored: { data: JsonValue },
  known: BasketEvent | undefined,
  before: Basket,
): string {
  if (!known) return truncate(JSON.stringify(stored.data), 80);
  const currency = before.status === "none" ? undefined : before.currency;
  const lineOf = (sku: string) => (before.status === "none" ? undefined : before.lines.get(sku));
  switch (known.type) {
    case "BasketCreated": {
      const { visitorId, currency: created } = known.data;
      return `created in ${created}${visitorId === null ? ", anonymous" : ` for visitor ${visitorId}`}`;
    }
    case "ItemAdded": {
      const { sku, name, unitPrice, quantity, productRevision } = known.data;
      const existing = lineOf(sku);
      const now = existing ? `, line now ${existing.quantity + quantity}` : "";
      const source = productRevision === null ? "" : `, catalog revision ${productRevision}`;
      return `added ${quantity} × ${sku} at ${formatAmount(unitPrice, currency)} (${name}${source})${now}`;
    }
    case "ItemQuantityChanged": {
      const was = lineOf(known.data.sku)?.quantity;
      return `quantity of ${known.data.sku} → ${known.data.quantity}${was === undefined ? "" : ` (was ${was})`}`;
    }
    case "ItemRemoved": {
      const was = lineOf(known.data.sku)?.quantity;
      return `removed ${known.data.sku}${was === undefined ? "" : ` (was ${was})`}`;
    }
    case "BasketCleared": {
      const lines = before.status === "none" ? 0 : before.lines.size;
      return `cleared ${lines} ${lines === 1 ? "line" : "lines"}`;
    }
    case "LineRepriced": {
      const was = lineOf(known.data.sku)?.unitPrice;
      const from = was === undefined ? "" : ` from ${formatAmount(was, currency)}`;
      return `repriced ${known.data.sku}${from} to ${formatAmount(known.data.unitPrice, currency)} (catalog revision ${known.data.productRevision})`;
    }
    case "LineRemoved":
      return `removed ${known.data.sku} at checkout: ${known.data.reason.replaceAll("_", " ")}`;
    case "BasketCheckedOut":
      return `checked out ${known.data.itemCount} items, total ${formatAmount(known.data.total, currency)}`;
    default:
      return known satisfies never;
  }
}

/** One line of plain words per product event: a product's price history. */
export function summariseProduct(stored: { data: JsonValue }, known: ProductEvent | undefined): string {
  if (!known) return truncate(JSON.stringify(stored.data), 80);
  const prices = (list: Prices) =>
    Object.entries(list)
      .map(([currency, price]) => `${currency} ${formatAmount(price, currency)}`)
      .join(", ");
  switch (known.type) {
    case "ProductListed":
      return `listed "${known.data.name}" at ${prices(known.data.prices)}`;
    case "ProductChanged": {
      const { name, prices: changed } = known.data;
      return [name === undefined ? "" : `renamed "${name}"`, changed ? `prices now ${prices(changed)}` : ""]
        .filter(Boolean)
        .join("; ");
    }
    case "ProductDelisted":
      return "delisted";
    default:
      return known satisfies never;
  }
}

/**
 * Minor units as a decimal amount in the currency's own number of digits (450 EUR → "4.50",
 * 450 JPY → "450"), by string, so no floating point touches the amount.
 */
export function formatAmount(minor: number, currency: string | undefined): string {
  const digits = currencyDigits(currency);
  if (digits === 0) return String(minor);
  const sign = minor < 0 ? "-" : "";
  const text = String(Math.abs(minor)).padStart(digits + 1, "0");
  return `${sign}${text.slice(0, -digits)}.${text.slice(-digits)}`;
}

function currencyDigits(currency: string | undefined): number {
  if (!currency) return 2;
  try {
    const format = new Intl.NumberFormat("en", { style: "currency", currency });
    return format.resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    return 2;
  }
}

const truncate = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);
