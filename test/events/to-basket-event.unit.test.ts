import { describe, expect, it } from "vitest";
import { type BasketEvent, basketEventTypes } from "../../src/aggregates/basket/index.js";
import { isBasketEventType, toBasketEvent, UnreadableEvent, versionOf } from "../../src/events/index.js";
import type { JsonValue } from "../../src/eventstore/port.js";

const basketId = "0192f0c4-0000-7000-8000-000000000001";

/** One event of each type, in its current schema version. */
const oneOfEach = {
  BasketCreated: { type: "BasketCreated", data: { basketId, visitorId: "visitor-1", currency: "EUR" } },
  ItemAdded: {
    type: "ItemAdded",
    data: { sku: "tea", name: "Green tea", unitPrice: 450, quantity: 2, productRevision: 3 },
  },
  ItemQuantityChanged: { type: "ItemQuantityChanged", data: { sku: "tea", quantity: 3 } },
  ItemRemoved: { type: "ItemRemoved", data: { sku: "tea" } },
  BasketCleared: { type: "BasketCleared", data: {} },
  LineRepriced: {
    type: "LineRepriced",
    data: { sku: "tea", name: "Green tea", unitPrice: 520, productRevision: 4 },
  },
  LineRemoved: { type: "LineRemoved", data: { sku: "tea", reason: "delisted" } },
  BasketCheckedOut: { type: "BasketCheckedOut", data: { itemCount: 3, total: 1_350 } },
} satisfies { [T in BasketEvent["type"]]: Extract<BasketEvent, { type: T }> };

/** The event as a writer of this version stores it: with its schema version in the metadata. */
const stored = (event: BasketEvent) => ({ ...event, metadata: versionOf(event.type) });

const refusal = (type: string, data: JsonValue, where: { stream?: string; revision?: bigint } = {}) => {
  try {
    toBasketEvent({ type, data, ...where });
  } catch (error) {
    expect(error).toBeInstanceOf(UnreadableEvent);
    return (error as Error).message;
  }
  throw new Error(`${type} was taken`);
};

describe("a stored event becoming a basket event", () => {
  it("knows every type the domain has", () => {
    expect(Object.keys(oneOfEach).sort()).toEqual([...basketEventTypes].sort());
    for (const type of basketEventTypes) expect(isBasketEventType(type)).toBe(true);
  });

  it.each(Object.values(oneOfEach).map((event) => [event.type, event] as const))(
    "takes a %s as it is stored",
    (_, event) => {
      expect(toBasketEvent(stored(event))).toEqual(event);
    },
  );

  it("takes an anonymous basket, and a price or quantity of zero", () => {
    const anonymous: BasketEvent = {
      type: "BasketCreated",
      data: { basketId, visitorId: null, currency: "SEK" },
    };
    expect(toBasketEvent(stored(anonymous))).toEqual(anonymous);
    const free: BasketEvent = {
      type: "ItemAdded",
      data: { sku: "gift", name: "Gift", unitPrice: 0, quantity: 1, productRevision: 0 },
    };
    expect(toBasketEvent(stored(free))).toEqual(free);
    const removedByZero: BasketEvent = { type: "ItemQuantityChanged", data: { sku: "tea", quantity: 0 } };
    expect(toBasketEvent(stored(removedByZero))).toEqual(removedByZero);
  });

  it("keeps only the type and the data of what the store hands back", () => {
    const recorded = { ...stored(oneOfEach.ItemRemoved), stream: `basket-${basketId}`, revision: 4n };
    expect(toBasketEvent(recorded)).toEqual(oneOfEach.ItemRemoved);
  });

  it.each(["BasketDeleted", "itemAdded", "", "constructor", "__proto__", "toString"])(
    "refuses the unknown type %j",
    (type) => {
      expect(refusal(type, {})).toBe(`Unknown basket event type ${JSON.stringify(type)}`);
      expect(isBasketEventType(type)).toBe(false);
    },
  );

  it.each([
    ["data that is no object", "ItemRemoved", "tea"],
    ["no data", "BasketCleared", null],
    ["data as an array", "ItemRemoved", ["tea"]],
    ["a field missing", "ItemAdded", { sku: "tea", name: "Green tea", unitPrice: 450 }],
    ["a field it does not have", "ItemRemoved", { sku: "tea", quantity: 1 }],
    ["a data field of another event", "BasketCleared", { sku: "tea" }],
    ["a price as text", "ItemAdded", { sku: "tea", name: "Green tea", unitPrice: "450", quantity: 2 }],
    [
      "a price that is not whole",
      "ItemAdded",
      { sku: "tea", name: "Green tea", unitPrice: 4.5, quantity: 2 },
    ],
    ["a negative quantity", "ItemQuantityChanged", { sku: "tea", quantity: -1 }],
    ["an empty sku", "ItemRemoved", { sku: "" }],
    ["a lower-case currency", "BasketCreated", { basketId, visitorId: null, currency: "eur" }],
    ["a visitor id that is no text", "BasketCreated", { basketId, visitorId: 7, currency: "EUR" }],
    ["a total that is no number", "BasketCheckedOut", { itemCount: 3, total: null }],
  ])("refuses %s, saying which event does not hold what", (_, type, data) => {
    expect(refusal(type, data as JsonValue)).toMatch(
      new RegExp(`^${type} does not hold a ${type}: /\\S* .+`),
    );
  });

  it("names the stream and revision of a refused record when it knows them", () => {
    const where = { stream: `basket-${basketId}`, revision: 2n ** 60n };
    expect(refusal("ItemRemoved", {}, where)).toMatch(
      `ItemRemoved (basket-${basketId}@1152921504606846976) does not hold a ItemRemoved: `,
    );
    expect(refusal("Shrugged", {}, where)).toBe(
      `Unknown basket event type "Shrugged" (basket-${basketId}@1152921504606846976)`,
    );
  });
});
