import Type from "typebox";
import { rules } from "../aggregates/basket/rules.js";

/**
 * JSON schemas of command data, shared by the NATS wire format and the HTTP bodies. They refuse
 * what is malformed on its own (wrong type, out of range); what depends on the basket — a
 * line growing past 99, the 51st line — is the domain's to refuse.
 */
/**
 * Text a visitor or a shop gives (sku, name, visitor id): something besides blanks, and no
 * control characters or lone UTF-16 surrogates — PostgreSQL stores neither in text or JSON, so
 * they would fail at the store instead of here.
 */
export const text = (maxLength: number) =>
  Type.String({ minLength: 1, maxLength, pattern: "^(?=[^\\p{Cc}\\p{Cs}]*\\S)[^\\p{Cc}\\p{Cs}]+$" });
export const Sku = text(rules.maxSkuLength);
export const Quantity = Type.Integer({ minimum: rules.minQuantity, maximum: rules.maxQuantity });

export const CreateBasketData = Type.Object(
  {
    visitorId: Type.Optional(text(rules.maxVisitorIdLength)),
    currency: Type.Optional(Type.String({ pattern: "^[A-Z]{3}$", description: "ISO 4217, default EUR" })),
  },
  { additionalProperties: false },
);

/** A product and how many: its name and price are the catalog's, never the client's. */
export const AddItemData = Type.Object({ sku: Sku, quantity: Quantity }, { additionalProperties: false });

export const ChangeItemQuantityData = Type.Object(
  { quantity: Type.Integer({ minimum: 0, maximum: rules.maxQuantity, description: "0 removes the line" }) },
  { additionalProperties: false },
);

export const BasketId = Type.String({
  pattern: "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
  description: "UUID, lower case",
});

export const Empty = Type.Object({}, { additionalProperties: false });
