import type { BasketEvent } from "./events.js";
import { type Basket, type BasketLine, initialBasket } from "./state.js";

/** Applies one recorded fact. Total and pure: a fact is never refused, only folded in. */
export function evolve(basket: Basket, event: BasketEvent): Basket {
  switch (event.type) {
    case "BasketCreated":
      return {
        status: "open",
        id: event.data.basketId,
        visitorId: event.data.visitorId,
        currency: event.data.currency,
        lines: new Map(),
      };
    case "ItemAdded": {
      if (basket.status === "none") return basket;
      const { sku, name, unitPrice, quantity } = event.data;
      const existing = basket.lines.get(sku);
      const line: BasketLine = { sku, name, unitPrice, quantity: (existing?.quantity ?? 0) + quantity };
      return { ...basket, lines: new Map(basket.lines).set(sku, line) };
    }
    case "ItemQuantityChanged": {
      if (basket.status === "none") return basket;
      const line = basket.lines.get(event.data.sku);
      if (!line) return basket;
      return {
        ...basket,
        lines: new Map(basket.lines).set(line.sku, { ...line, quantity: event.data.quantity }),
      };
    }
    case "ItemRemoved": {
      if (basket.status === "none") return basket;
      const lines = new Map(basket.lines);
      lines.delete(event.data.sku);
      return { ...basket, lines };
    }
    case "LineRepriced": {
      if (basket.status === "none") return basket;
      const line = basket.lines.get(event.data.sku);
      if (!line) return basket;
      const { name, unitPrice } = event.data;
      return { ...basket, lines: new Map(basket.lines).set(line.sku, { ...line, name, unitPrice }) };
    }
    case "LineRemoved": {
      if (basket.status === "none") return basket;
      const lines = new Map(basket.lines);
      lines.delete(event.data.sku);
      return { ...basket, lines };
    }
    case "BasketCleared":
      return basket.status === "none" ? basket : { ...basket, lines: new Map() };
    case "BasketCheckedOut":
      return basket.status === "none" ? basket : { ...basket, status: "checked_out" };
    default:
      return unknownEvent(event);
  }
}

export const fold = (events: Iterable<BasketEvent>, from: Basket = initialBasket): Basket => {
  let basket = from;
  for (const event of events) basket = evolve(basket, event);
  return basket;
};

function unknownEvent(event: never): never {
  // By type: a recorded event carries bigints, which JSON.stringify refuses.
  throw new Error(`Unknown basket event: ${JSON.stringify((event as { type: unknown }).type)}`);
}
