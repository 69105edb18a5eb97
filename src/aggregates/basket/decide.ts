import type { BasketCommand } from "./commands.js";
import { type BasketRefusal, isRefusal, refuse } from "./errors.js";
import type { BasketEvent, LineRemovedReason } from "./events.js";
import type { ProductOffer } from "./offer.js";
import { isCurrency, rules, storableText } from "./rules.js";
import { type Basket, basketTotal, itemCount } from "./state.js";

type OpenBasket = Extract<Basket, { status: "open" }>;

/** What a command comes to: the events to record (none when it asks for what already holds), or a refusal. */
export type Decision = BasketEvent[] | BasketRefusal;

/**
 * Decides which events a command produces on the current state. Pure: it reads nothing but its
 * arguments — the catalog's offers come with the command — and a refusal is returned, not thrown.
 *
 * A line's name and price are the catalog's, never the client's. Adding an sku that is already
 * in the basket adds to its quantity and the whole line takes the current price, so a basket
 * never shows two prices for one product. At checkout every line is compared with the catalog:
 * a changed price or a product no longer sold is recorded (LineRepriced, LineRemoved) and the
 * checkout refused with `prices_changed`, so no checkout completes at a price the catalog no
 * longer offers; checking out again then succeeds.
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
      const { sku, quantity } = command.data;
      const problem = skuProblem(sku) ?? quantityProblem(quantity, rules.minQuantity);
      if (problem) return problem;
      const priced = priceOf(command.offer, open.currency);
      if (isRefusal(priced)) return priced;
      const existing = open.lines.get(sku);
      if (existing) {
        const grown = quantityProblem(existing.quantity + quantity, rules.minQuantity);
        if (grown) return grown;
      } else if (open.lines.size >= rules.maxLines) {
        return refuse("too_many_lines");
      }
      const { name, unitPrice, revision } = priced;
      return [{ type: "ItemAdded", data: { sku, name, unitPrice, quantity, productRevision: revision } }];
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
      const changes = catalogChanges(open, command.offers ?? new Map());
      if (changes.length > 0) return refuse("prices_changed", undefined, changes);
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

/** Each line the catalog no longer sells at its price: repriced, or removed with why. */
function catalogChanges(
  basket: OpenBasket,
  offers: ReadonlyMap<string, ProductOffer | undefined>,
): BasketEvent[] {
  const changes: BasketEvent[] = [];
  for (const line of basket.lines.values()) {
    const priced = priceOf(offers.get(line.sku), basket.currency);
    if (isRefusal(priced)) {
      changes.push({ type: "LineRemoved", data: { sku: line.sku, reason: removedBecause[priced.code] } });
    } else if (priced.unitPrice !== line.unitPrice) {
      const { name, unitPrice, revision } = priced;
      changes.push({
        type: "LineRepriced",
        data: { sku: line.sku, name, unitPrice, productRevision: revision },
      });
    }
  }
  return changes;
}

const removedBecause: Record<PriceRefusal["code"], LineRemovedReason> = {
  unknown_product: "unknown_product",
  product_delisted: "delisted",
  no_price_in_currency: "no_price_in_currency",
};

type PriceRefusal = BasketRefusal & { code: "unknown_product" | "product_delisted" | "no_price_in_currency" };

/** The catalog's name and price for the basket's currency, or why the product cannot be sold. */
function priceOf(
  offer: ProductOffer | undefined,
  currency: string,
): { name: string; unitPrice: number; revision: number } | PriceRefusal {
  if (!offer) return refuse("unknown_product") as PriceRefusal;
  if (!offer.listed) return refuse("product_delisted", `sku "${offer.sku}".`) as PriceRefusal;
  const unitPrice = offer.prices[currency];
  if (unitPrice === undefined)
    return refuse("no_price_in_currency", `sku "${offer.sku}" in ${currency}.`) as PriceRefusal;
  return { name: offer.name, unitPrice, revision: offer.revision };
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
