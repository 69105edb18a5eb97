export interface BasketLine {
  readonly sku: string;
  readonly name: string;
  readonly unitPrice: number;
  readonly quantity: number;
}

interface ExistingBasket {
  readonly id: string;
  readonly visitorId: string | null;
  readonly currency: string;
  /** Keyed by sku, in the order the lines were first added. */
  readonly lines: ReadonlyMap<string, BasketLine>;
}

export type Basket =
  | { readonly status: "none" }
  | ({ readonly status: "open" } & ExistingBasket)
  | ({ readonly status: "checked_out" } & ExistingBasket);

export const initialBasket: Basket = { status: "none" };

export const lineTotal = (line: BasketLine): number => line.unitPrice * line.quantity;

export const itemCount = (lines: ReadonlyMap<string, BasketLine>): number => {
  let count = 0;
  for (const line of lines.values()) count += line.quantity;
  return count;
};

export const basketTotal = (lines: ReadonlyMap<string, BasketLine>): number => {
  let total = 0;
  for (const line of lines.values()) total += lineTotal(line);
  return total;
};
