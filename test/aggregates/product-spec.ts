import { expect } from "vitest";
import {
  decide,
  fold,
  type ProductCommand,
  type ProductErrorCode,
  type ProductEvent,
} from "../../src/aggregates/product/index.js";

/** Given a product's past events, when a catalog command, then the new events — or the refusal's code. */
export const given = (...history: ProductEvent[]) => ({
  when: (command: ProductCommand) => ({
    thenRecords: (...expected: ProductEvent[]) => expect(decide(command, fold(history))).toEqual(expected),
    thenRecordsNothing: () => expect(decide(command, fold(history))).toEqual([]),
    thenRefuses: (code: ProductErrorCode) =>
      expect(decide(command, fold(history))).toMatchObject({ kind: "refusal", code }),
  }),
});

export const listed = (
  sku: string,
  prices: Record<string, number> = { EUR: 450 },
  name = `Product ${sku}`,
): ProductEvent => ({
  type: "ProductListed",
  data: { sku, name, prices },
});
export const delisted = (sku: string): ProductEvent => ({ type: "ProductDelisted", data: { sku } });
export const put = (
  sku: string,
  prices: Record<string, number> = { EUR: 450 },
  name = `Product ${sku}`,
  listed?: boolean,
): ProductCommand => ({
  type: "PutProduct",
  data: { sku, name, prices, ...(listed === undefined ? {} : { listed }) },
});
export const delist = (sku: string): ProductCommand => ({ type: "DelistProduct", data: { sku } });
