import { expect } from "vitest";
import {
  type BasketCommand,
  type BasketErrorCode,
  type BasketEvent,
  decide,
  fold,
  type ProductOffer,
} from "../../src/aggregates/basket/index.js";

/** Given past events, when a command, then the new events — or the refusal's code. */
export const given = (...history: BasketEvent[]) => ({
  when: (command: BasketCommand) => ({
    thenRecords: (...expected: BasketEvent[]) => expect(decide(command, fold(history))).toEqual(expected),
    thenRecordsNothing: () => expect(decide(command, fold(history))).toEqual([]),
    thenRefuses: (code: BasketErrorCode) => {
      const decision = decide(command, fold(history));
      expect(decision).toMatchObject({ kind: "refusal", code });
      expect(decision).not.toHaveProperty("record");
    },
    /** Refused, and what it found recorded all the same (a checkout that met the catalog's changes). */
    thenRefusesRecording: (code: BasketErrorCode, ...recorded: BasketEvent[]) => {
      const decision = decide(command, fold(history));
      expect(decision).toMatchObject({ kind: "refusal", code });
      expect((decision as { record?: unknown }).record).toEqual(recorded);
    },
  }),
});

export const basketId = "0192f0c4-0000-7000-8000-000000000001";

export const created: BasketEvent = {
  type: "BasketCreated",
  data: { basketId, visitorId: "visitor-1", currency: "EUR" },
};

/** The catalog's word on a product, as the command handler hands it to `decide`. */
export const offer = (
  sku: string,
  unitPrice = 1_000,
  { name = `Product ${sku}`, listed = true, revision = 0, currency = "EUR" } = {},
): ProductOffer => ({ sku, name, listed, prices: { [currency]: unitPrice }, revision });

/** AddItem as the client sends it ({sku, quantity}) with the catalog's offer attached; null: the catalog knows none. */
export const add = (sku: string, quantity = 1, priced: ProductOffer | null = offer(sku)): BasketCommand => ({
  type: "AddItem",
  data: { sku, quantity },
  offer: priced ?? undefined,
});

/** CheckOut with the catalog as it stands for the given skus. */
export const checkOutAgainst = (...offers: ProductOffer[]): BasketCommand => ({
  type: "CheckOut",
  data: {},
  offers: new Map(offers.map((priced) => [priced.sku, priced])),
});

export const added = (
  sku: string,
  quantity = 1,
  unitPrice = 1_000,
  name = `Product ${sku}`,
  productRevision: number | null = 0,
): BasketEvent => ({
  type: "ItemAdded",
  data: { sku, name, unitPrice, quantity, productRevision },
});
