import type { BasketCommand } from "./commands.js";
import { type BasketRefusal, isRefusal, refuse } from "./errors.js";
import type { BasketEvent } from "./events.js";
import { isCurrency, rules, storableText } from "./rules.js";
import { type Basket, basketTotal, itemCount } from "./state.js";

type OpenBasket = Extract<Basket, { status: "open" }>;

/** What a command comes to: the events to record (none when it asks for what already holds), or a refusal. */
export type Decision = BasketEvent[] | BasketRefusal;

/**
 * Decides which events a command produces on the current state. Pure: it reads nothing but its
 * arguments, and a refusal is returned, not thrown.
 *
 * Adding a sku that is already in the basket adds to its quantity, and the line takes the newly
 * given name and unit price: the shop's price at the moment of the latest add applies to the
 * whole line, so the basket never shows two prices for one product.
 */
export function decide(command: BasketCommand, basket: Basket): Decision {
  switch (command.type) {
    case "CreateBasket": {
      if (basket.status !== "none") return refuse("basket_already_exists");
      const { basketId, visitorId, currency = rules.defaultCurrency } = command.data;
      if (visitorId !== undefined && !isBoundedText(visitorId, rules.maxVisitorIdLength))
        return refuse("invalid_visitor_id");
      if (!isCurrency(currency)) return refuse("invalid_currency", `Got "${currency}".`);
      return [{ type: "BasketCreated", data: { basketId, visitorId: visitorId ?? null, currency } }];
    }
    case "AddItem": {
      const open = openBasket(basket);
      if (isRefusal(open)) return open;
      const { sku, name, unitPrice, quantity } = command.data;
      const problem =
        skuProblem(sku) ??
        (isBoundedText(name, rules.maxNameLength) ? undefined : refuse("invalid_name")) ??
        (isUnitPrice(unitPrice) ? undefined : refuse("invalid_unit_price")) ??
        quantityProblem(quantity, rules.minQuantity);
      if (problem) return problem;
      const existing = open.lines.get(sku);
      if (existing) {
        const grown = quantityProblem(existing.quantity + quantity, rules.minQuantity);
        if (grown) return grown;
      } else if (open.lines.size >= rules.maxLines) {
        return refuse("too_many_lines");
      }
      return [{ type: "ItemAdded", data: { sku, name, unitPrice, quantity } }];
    }
    case "ChangeItemQuantity": {
      const open = openBasket(basket);
      if (isRefusal(open)) return open;
      const { sku, quantity } = command.data;
      const problem = skuProblem(sku) ?? quantityProblem(quantity, 0);
      if (problem) return problem;
      const line = open.lines.get(sku);
      if (!line) return notInBasket(sku);
      if (quantity === 0) return [{ type: "ItemRemoved", data: { sku } }];
      if (quantity === line.quantity) return [];
      return [{ type: "ItemQuantityChanged", data: { sku, quantity } }];
    }
    case "RemoveItem": {
      const open = openBasket(basket);
      if (isRefusal(open)) return open;
      const { sku } = command.data;
      const problem = skuProblem(sku);
      if (problem) return problem;
      if (!open.lines.has(sku)) return notInBasket(sku);
      return [{ type: "ItemRemoved", data: { sku } }];
    }
    case "ClearBasket": {
      const open = openBasket(basket);
      if (isRefusal(open)) return open;
      return open.lines.size === 0 ? [] : [{ type: "BasketCleared", data: {} }];
    }
    case "CheckOut": {
      const open = openBasket(basket);
      if (isRefusal(open)) return open;
      if (open.lines.size === 0) return refuse("basket_empty");
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

function openBasket(basket: Basket): OpenBasket | BasketRefusal {
  if (basket.status === "none") return refuse("basket_not_found");
  if (basket.status === "checked_out") return refuse("basket_checked_out");
  return basket;
}

const notInBasket = (sku: string) => refuse("item_not_in_basket", `sku "${sku}".`);

const skuProblem = (sku: string) =>
  isBoundedText(sku, rules.maxSkuLength) ? undefined : refuse("invalid_sku");

const quantityProblem = (quantity: number, min: number) =>
  Number.isInteger(quantity) && quantity >= min && quantity <= rules.maxQuantity
    ? undefined
    : refuse("quantity_out_of_range", `Got ${quantity}.`);

const isUnitPrice = (unitPrice: number) =>
  Number.isSafeInteger(unitPrice) && unitPrice >= 0 && unitPrice <= rules.maxUnitPrice;

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
