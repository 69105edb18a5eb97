import Type, { type TSchema } from "typebox";
import { Compile } from "typebox/compile";
import type { BasketEvent } from "../aggregates/basket/index.js";

/**
 * The data of each basket event as it is stored now (the current schema version). What the
 * store hands back is checked against these before it reaches `evolve`: a record that is not
 * one of ours fails loudly instead of folding into a wrong basket.
 */
const text = Type.String({ minLength: 1 });
const count = Type.Integer({ minimum: 0 });
const strict = <T extends Record<string, TSchema>>(properties: T) =>
  Type.Object(properties, { additionalProperties: false });

const dataSchemas = {
  BasketCreated: strict({
    basketId: text,
    visitorId: Type.Union([text, Type.Null()]),
    currency: Type.String({ pattern: "^[A-Z]{3}$" }),
  }),
  ItemAdded: strict({ sku: text, name: text, unitPrice: count, quantity: count }),
  ItemQuantityChanged: strict({ sku: text, quantity: count }),
  ItemRemoved: strict({ sku: text }),
  BasketCleared: strict({}),
  BasketCheckedOut: strict({ itemCount: count, total: count }),
} satisfies Record<BasketEvent["type"], TSchema>;

const checks = Object.fromEntries(
  Object.entries(dataSchemas).map(([type, schema]) => [type, Compile(schema)]),
) as { [T in BasketEvent["type"]]: ReturnType<typeof Compile> };

export const isBasketEventType = (type: string): type is BasketEvent["type"] => Object.hasOwn(checks, type);

/** Why the data is not that of the event type, or undefined when it is. */
export function dataProblem(type: BasketEvent["type"], data: unknown): string | undefined {
  const check = checks[type];
  if (check.Check(data)) return undefined;
  const [first] = check.Errors(data);
  return first ? `${first.instancePath || "/"} ${first.message}` : "unexpected shape";
}
