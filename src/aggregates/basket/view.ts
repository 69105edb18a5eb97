import { type Basket, basketTotal, itemCount, lineTotal } from "./state.js";

/** The basket as clients see it: lines with their totals, all amounts in minor units. */
export interface BasketView {
  id: string;
  visitorId: string | null;
  status: "open" | "checked_out";
  currency: string;
  lines: { sku: string; name: string; unitPrice: number; quantity: number; lineTotal: number }[];
  itemCount: number;
  total: number;
}

export function toBasketView(basket: Basket): BasketView | undefined {
  if (basket.status === "none") return undefined;
  return {
    id: basket.id,
    visitorId: basket.visitorId,
    status: basket.status,
    currency: basket.currency,
    lines: [...basket.lines.values()].map((line) => ({ ...line, lineTotal: lineTotal(line) })),
    itemCount: itemCount(basket.lines),
    total: basketTotal(basket.lines),
  };
}
