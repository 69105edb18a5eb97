import type { BasketCommand } from "./commands.js";
import { BasketError } from "./errors.js";
import type { BasketEvent } from "./events.js";
import { isCurrency, rules, storableText } from "./rules.js";
import { type Basket, basketTotal, itemCount } from "./state.js";

type OpenBasket = Extract<Basket, { status: "open" }>;

/**
 * Decides which events a command produces on the current state, or throws a BasketError.
 * An empty result means the command asks for what already holds (e.g. clearing an empty basket).
 *
 * Adding a sku that is already in the basket adds to its quantity, and the line takes the newly
 * given name and unit price: the shop's price at the moment of the latest add applies to the
 * whole line, so the basket never shows two prices for one product.
 */
export function decide(command: BasketCommand, basket: Basket): BasketEvent[] {
  switch (command.type) {
    case "CreateBasket": {
      if (basket.status !== "none") throw new BasketError("basket_already_exists");
      const { basketId, visitorId, currency = rules.defaultCurrency } = command.data;
      if (visitorId !== undefined && !isBoundedText(visitorId, rules.maxVisitorIdLength)) {
        throw new BasketError("invalid_visitor_id");
      }
      if (!isCurrency(currency)) throw new BasketError("invalid_currency", `Got "${currency}".`);
      return [{ type: "BasketCreated", data: { basketId, visitorId: visitorId ?? null, currency } }];
    }
    case "AddItem": {
      const open = requireOpen(basket);
      const { sku, name, unitPrice, quantity } = command.data;
      requireSku(sku);
      if (!isBoundedText(name, rules.maxNameLength)) throw new BasketError("invalid_name");
      if (!Number.isSafeInteger(unitPrice) || unitPrice < 0 || unitPrice > rules.maxUnitPrice) {
        throw new BasketError("invalid_unit_price");
      }
      requireQuantity(quantity, rules.minQuantity);
      const existing = open.lines.get(sku);
      if (existing) {
        requireQuantity(existing.quantity + quantity, rules.minQuantity);
      } else if (open.lines.size >= rules.maxLines) {
        throw new BasketError("too_many_lines");
      }
      return [{ type: "ItemAdded", data: { sku, name, unitPrice, quantity } }];
    }
    case "ChangeItemQuantity": {
      const open = requireOpen(basket);
      const { sku, quantity } = command.data;
      requireSku(sku);
      requireQuantity(quantity, 0);
      const line = requireLine(open, sku);
      if (quantity === 0) return [{ type: "ItemRemoved", data: { sku } }];
      if (quantity === line.quantity) return [];
      return [{ type: "ItemQuantityChanged", data: { sku, quantity } }];
    }
    case "RemoveItem": {
      const open = requireOpen(basket);
      requireSku(command.data.sku);
      requireLine(open, command.data.sku);
      return [{ type: "ItemRemoved", data: { sku: command.data.sku } }];
    }
    case "ClearBasket": {
      const open = requireOpen(basket);
      return open.lines.size === 0 ? [] : [{ type: "BasketCleared", data: {} }];
    }
    case "CheckOut": {
      const open = requireOpen(basket);
      if (open.lines.size === 0) throw new BasketError("basket_empty");
      return [
        {
          type: "BasketCheckedOut",
          data: { itemCount: itemCount(open.lines), total: basketTotal(open.lines) },
        },
      ];
    }
    default:
      return unknownCommand(command);
  }
}

function requireOpen(basket: Basket): OpenBasket {
  if (basket.status === "none") throw new BasketError("basket_not_found");
  if (basket.status === "checked_out") throw new BasketError("basket_checked_out");
  return basket;
}

function requireLine(basket: OpenBasket, sku: string) {
  const line = basket.lines.get(sku);
  if (!line) throw new BasketError("item_not_in_basket", `sku "${sku}".`);
  return line;
}

function requireSku(sku: string): void {
  if (!isBoundedText(sku, rules.maxSkuLength)) throw new BasketError("invalid_sku");
}

function requireQuantity(quantity: number, min: number): void {
  if (!Number.isInteger(quantity) || quantity < min || quantity > rules.maxQuantity) {
    throw new BasketError("quantity_out_of_range", `Got ${quantity}.`);
  }
}

function isBoundedText(value: unknown, maxLength: number): value is string {
  return (
    typeof value === "string" &&
    value.trim().length > 0 &&
    value.length <= maxLength &&
    storableText.test(value)
  );
}

function unknownCommand(command: never): never {
  throw new Error(`Unknown basket command: ${JSON.stringify(command)}`);
}
