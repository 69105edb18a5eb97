import { expect } from "vitest";
import {
  type BasketCommand,
  type BasketErrorCode,
  type BasketEvent,
  decide,
  fold,
} from "../../src/aggregates/basket/index.js";

/** Given past events, when a command, then the new events — or the refusal's code. */
export const given = (...history: BasketEvent[]) => ({
  when: (command: BasketCommand) => ({
    thenRecords: (...expected: BasketEvent[]) => expect(decide(command, fold(history))).toEqual(expected),
    thenRecordsNothing: () => expect(decide(command, fold(history))).toEqual([]),
    thenRefuses: (code: BasketErrorCode) =>
      expect(decide(command, fold(history))).toMatchObject({ kind: "refusal", code }),
  }),
});

export const basketId = "0192f0c4-0000-7000-8000-000000000001";

export const created: BasketEvent = {
  type: "BasketCreated",
  data: { basketId, visitorId: "visitor-1", currency: "EUR" },
};

export const added = (
  sku: string,
  quantity = 1,
  unitPrice = 1_000,
  name = `Product ${sku}`,
): BasketEvent => ({
  type: "ItemAdded",
  data: { sku, name, unitPrice, quantity },
});
