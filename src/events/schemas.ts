import Type, { type TSchema } from "typebox";
import type { BasketEvent } from "../aggregates/basket/index.js";
import type { ProductEvent } from "../aggregates/product/index.js";

/**
 * The data of every event type as it is written now (its current schema version). What a store
 * hands back is upcast to that version (upcasters.ts) and checked against these before it reaches
 * `evolve`: a record that is not one of ours fails loudly instead of folding into a wrong state.
 */
const text = Type.String({ minLength: 1 });
const count = Type.Integer({ minimum: 0 });
const prices = Type.Record(Type.String({ pattern: "^[A-Z]{3}$" }), count, { additionalProperties: false });
const strict = <T extends Record<string, TSchema>>(properties: T) =>
  Type.Object(properties, { additionalProperties: false });

export const basketEventSchemas = {
  BasketCreated: strict({
    basketId: text,
    visitorId: Type.Union([text, Type.Null()]),
    currency: Type.String({ pattern: "^[A-Z]{3}$" }),
  }),
  ItemAdded: strict({
    sku: text,
    name: text,
    unitPrice: count,
    quantity: count,
    productRevision: Type.Union([count, Type.Null()]),
  }),
  ItemQuantityChanged: strict({ sku: text, quantity: count }),
  ItemRemoved: strict({ sku: text }),
  BasketCleared: strict({}),
  LineRepriced: strict({ sku: text, name: text, unitPrice: count, productRevision: count }),
  LineRemoved: strict({
    sku: text,
    reason: Type.Union([
      Type.Literal("delisted"),
      Type.Literal("no_price_in_currency"),
      Type.Literal("unknown_product"),
    ]),
  }),
  BasketCheckedOut: strict({ itemCount: count, total: count }),
} satisfies Record<BasketEvent["type"], TSchema>;

export const productEventSchemas = {
  ProductListed: strict({ sku: text, name: text, prices }),
  ProductChanged: strict({ sku: text, name: Type.Optional(text), prices: Type.Optional(prices) }),
  ProductDelisted: strict({ sku: text }),
} satisfies Record<ProductEvent["type"], TSchema>;
