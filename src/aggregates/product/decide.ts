import { isCurrency, rules, storableText } from "../basket/rules.js";
import type { Prices, ProductCommand } from "./commands.js";
import { type ProductRefusal, refuse } from "./errors.js";
import type { ProductEvent } from "./events.js";
import { type Product, samePrices } from "./state.js";

/** The events to record (none when the command asks for what already holds), or a refusal. */
export type ProductDecision = ProductEvent[] | ProductRefusal;

/**
 * Decides what a catalog command records. Putting a product lists it when it was never listed
 * or was delisted (unless it is put as not listed), and otherwise records only what changed —
 * so an import run twice records nothing the second time. Pure, like the basket's.
 */
export function decide(command: ProductCommand, product: Product): ProductDecision {
  switch (command.type) {
    case "PutProduct": {
      const { sku, name, prices, listed = true } = command.data;
      const problem = skuProblem(sku) ?? nameProblem(name) ?? pricesProblem(prices);
      if (problem) return problem;
      const delisted: ProductEvent[] = listed ? [] : [{ type: "ProductDelisted", data: { sku } }];
      // A product not sold now is listed whole again; one never listed is listed first, even to be delisted.
      if (product.status === "none" || (product.status === "delisted" && listed))
        return [{ type: "ProductListed", data: { sku, name, prices: { ...prices } } }, ...delisted];
      const nameChanged = product.name !== name;
      const pricesChanged = !samePrices(product.prices, prices);
      const changed: ProductEvent[] =
        nameChanged || pricesChanged
          ? [
              {
                type: "ProductChanged",
                data: {
                  sku,
                  ...(nameChanged ? { name } : {}),
                  ...(pricesChanged ? { prices: { ...prices } } : {}),
                },
              },
            ]
          : [];
      return product.status === "listed" ? [...changed, ...delisted] : changed;
    }
    case "DelistProduct": {
      const { sku } = command.data;
      const problem = skuProblem(sku);
      if (problem) return problem;
      if (product.status === "none") return refuse("product_not_found", `sku "${sku}".`);
      return product.status === "delisted" ? [] : [{ type: "ProductDelisted", data: { sku } }];
    }
    default:
      return unknownCommand(command);
  }
}

const isBoundedText = (value: unknown, maxLength: number): value is string =>
  typeof value === "string" &&
  value.trim().length > 0 &&
  value.length <= maxLength &&
  storableText.test(value);

const skuProblem = (sku: string) =>
  isBoundedText(sku, rules.maxSkuLength) ? undefined : refuse("invalid_sku");

const nameProblem = (name: string) =>
  isBoundedText(name, rules.maxNameLength) ? undefined : refuse("invalid_name");

function pricesProblem(prices: Prices): ProductRefusal | undefined {
  const entries = typeof prices === "object" && prices !== null ? Object.entries(prices) : [];
  if (entries.length === 0 || entries.length > rules.maxCurrencies) return refuse("invalid_prices");
  for (const [currency, price] of entries) {
    if (!isCurrency(currency)) return refuse("invalid_prices", `"${currency}" is no ISO 4217 code.`);
    if (!Number.isSafeInteger(price) || price < 0 || price > rules.maxUnitPrice)
      return refuse(
        "invalid_prices",
        `The price in ${currency} is not a whole number of minor units within bounds.`,
      );
  }
  return undefined;
}

function unknownCommand(command: never): never {
  throw new Error(`Unknown product command: ${JSON.stringify(command)}`);
}
