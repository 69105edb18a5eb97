import { describe, expect, it } from "vitest";
import {
  currentVersions,
  schemaVersionKey,
  toBasketEvent,
  toProductEvent,
  UnreadableEvent,
} from "../../src/events/index.js";

const v1ItemAdded = {
  type: "ItemAdded",
  data: { sku: "TEA", name: "Green tea", unitPrice: 450, quantity: 2 },
};

describe("reading stored events through the upcasters", () => {
  it("reads an ItemAdded stored before versions (no schemaVersion) as v2, with no product revision", () => {
    expect(toBasketEvent({ ...v1ItemAdded, metadata: {} })).toEqual({
      type: "ItemAdded",
      data: { sku: "TEA", name: "Green tea", unitPrice: 450, quantity: 2, productRevision: null },
    });
    expect(toBasketEvent({ ...v1ItemAdded, metadata: { [schemaVersionKey]: 1 } }).data).toMatchObject({
      productRevision: null,
    });
  });

  it("reads a v2 ItemAdded as it is: its product revision is never overwritten", () => {
    const stored = {
      type: "ItemAdded",
      data: { ...v1ItemAdded.data, productRevision: 7 },
      metadata: { [schemaVersionKey]: 2 },
    };
    expect(toBasketEvent(stored).data).toMatchObject({ productRevision: 7 });
  });

  it("refuses an event written by a newer version of the service, saying so", () => {
    const newer = { ...v1ItemAdded, metadata: { [schemaVersionKey]: currentVersions.ItemAdded + 1 } };
    expect(() => toBasketEvent(newer)).toThrow(UnreadableEvent);
    expect(() => toBasketEvent(newer)).toThrow(/newer than this code reads/);
  });

  it.each([0, -1, 1.5, "2"])("refuses the schemaVersion %j", (version) =>
    expect(() => toBasketEvent({ ...v1ItemAdded, metadata: { [schemaVersionKey]: version } })).toThrow(
      UnreadableEvent,
    ),
  );

  it.each([
    ["a missing field", { type: "ItemAdded", data: { sku: "TEA", quantity: 1 } }],
    ["a field of the wrong type", { type: "ItemRemoved", data: { sku: 7 } }],
    ["a field too many", { type: "BasketCleared", data: { all: true } }],
    [
      "a negative price",
      { type: "LineRepriced", data: { sku: "T", name: "T", unitPrice: -1, productRevision: 0 } },
    ],
    ["an unknown reason", { type: "LineRemoved", data: { sku: "T", reason: "whim" } }],
    ["an unknown type", { type: "BasketExploded", data: {} }],
    [
      "a product event in a basket's stream",
      { type: "ProductListed", data: { sku: "T", name: "T", prices: {} } },
    ],
  ])("refuses %s rather than fold it", (_, stored) => {
    expect(() => toBasketEvent({ ...stored, stream: "basket-x", revision: 3n })).toThrow(UnreadableEvent);
    expect(() => toBasketEvent({ ...stored, stream: "basket-x", revision: 3n })).toThrow(/basket-x@3/);
  });

  it("reads every product event, and refuses prices that are not minor units per currency", () => {
    expect(
      toProductEvent({ type: "ProductListed", data: { sku: "T", name: "Tea", prices: { EUR: 450 } } }),
    ).toEqual({
      type: "ProductListed",
      data: { sku: "T", name: "Tea", prices: { EUR: 450 } },
    });
    expect(toProductEvent({ type: "ProductChanged", data: { sku: "T", name: "Sencha" } }).type).toBe(
      "ProductChanged",
    );
    expect(toProductEvent({ type: "ProductDelisted", data: { sku: "T" } }).type).toBe("ProductDelisted");
    expect(() =>
      toProductEvent({ type: "ProductListed", data: { sku: "T", name: "Tea", prices: { eur: 1 } } }),
    ).toThrow(UnreadableEvent);
    expect(() =>
      toProductEvent({ type: "ProductListed", data: { sku: "T", name: "Tea", prices: { EUR: 4.5 } } }),
    ).toThrow(UnreadableEvent);
  });
});
