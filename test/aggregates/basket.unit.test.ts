import { describe, expect, it } from "vitest";
import { fold, rules, toBasketView } from "../../src/aggregates/basket/index.js";
import { add, added, basketId, checkOutAgainst, created, given, offer } from "./basket-spec.js";

const change = (sku: string, quantity: number) =>
  ({ type: "ChangeItemQuantity", data: { sku, quantity } }) as const;
const remove = (sku: string) => ({ type: "RemoveItem", data: { sku } }) as const;
const clear = { type: "ClearBasket", data: {} } as const;
const checkOut = { type: "CheckOut", data: {} } as const;
const checkedOut = { type: "BasketCheckedOut", data: { itemCount: 1, total: 1_000 } } as const;
const fiftyLines = Array.from({ length: rules.maxLines }, (_, i) => added(`sku-${i}`));

describe("CreateBasket", () => {
  it("creates a basket for a visitor in the given currency", () =>
    given()
      .when({ type: "CreateBasket", data: { basketId, visitorId: "visitor-1", currency: "SEK" } })
      .thenRecords({ type: "BasketCreated", data: { basketId, visitorId: "visitor-1", currency: "SEK" } }));

  it("defaults to EUR and an anonymous visitor", () =>
    given()
      .when({ type: "CreateBasket", data: { basketId } })
      .thenRecords({ type: "BasketCreated", data: { basketId, visitorId: null, currency: "EUR" } }));

  it("refuses a basket that already exists", () =>
    given(created).when({ type: "CreateBasket", data: { basketId } }).thenRefuses("basket_already_exists"));

  it("refuses a basket that already exists even when checked out", () =>
    given(created, added("a"), checkedOut)
      .when({ type: "CreateBasket", data: { basketId } })
      .thenRefuses("basket_already_exists"));

  it.each(["eur", "EURO", "XYZ", ""])("refuses the currency %j", (currency) =>
    given().when({ type: "CreateBasket", data: { basketId, currency } }).thenRefuses("invalid_currency"),
  );

  it.each(["", "   ", "v".repeat(rules.maxVisitorIdLength + 1), "v\u0000", "\ud800v"])(
    "refuses the visitor id %j",
    (visitorId) =>
      given().when({ type: "CreateBasket", data: { basketId, visitorId } }).thenRefuses("invalid_visitor_id"),
  );
});

describe("AddItem", () => {
  it("adds a new line at the catalog's name and price, recording the product revision it came from", () =>
    given(created)
      .when(add("a", 2, offer("a", 350, { name: "Assam", revision: 4 })))
      .thenRecords(added("a", 2, 350, "Assam", 4)));

  it("takes the price in the basket's currency", () =>
    given({ type: "BasketCreated", data: { basketId, visitorId: null, currency: "SEK" } })
      .when(add("a", 1, { ...offer("a", 350), prices: { EUR: 350, SEK: 3900 } }))
      .thenRecords(added("a", 1, 3900)));

  it("adds to the quantity of a line already in the basket, the whole line taking the catalog's current price and name", () => {
    given(created, added("a", 2, 350))
      .when(add("a", 3, offer("a", 400, { name: "New name", revision: 1 })))
      .thenRecords(added("a", 3, 400, "New name", 1));
    const line = fold([created, added("a", 2, 350), added("a", 3, 400, "New name", 1)]);
    expect(toBasketView(line)?.lines).toEqual([
      { sku: "a", name: "New name", unitPrice: 400, quantity: 5, lineTotal: 2_000 },
    ]);
  });

  it("accepts a product the catalog gives away", () =>
    given(created)
      .when(add("gift", 1, offer("gift", 0)))
      .thenRecords(added("gift", 1, 0)));

  it("refuses a product the catalog does not know", () =>
    given(created)
      .when(add("ghost", 1, null))
      .thenRefuses("unknown_product"));

  it("refuses a product the catalog no longer sells", () =>
    given(created)
      .when(add("a", 1, offer("a", 350, { listed: false })))
      .thenRefuses("product_delisted"));

  it("refuses a product not sold in the basket's currency", () =>
    given(created)
      .when(add("a", 1, offer("a", 350, { currency: "USD" })))
      .thenRefuses("no_price_in_currency"));

  it.each([0, -1, 100, 1.5, Number.NaN])("refuses the quantity %d", (quantity) =>
    given(created).when(add("a", quantity)).thenRefuses("quantity_out_of_range"),
  );

  it("refuses to take a line above 99", () =>
    given(created, added("a", 90)).when(add("a", 10)).thenRefuses("quantity_out_of_range"));

  it("allows a line of exactly 99", () =>
    given(created, added("a", 90)).when(add("a", 9)).thenRecords(added("a", 9)));

  it.each(["", " ", "s".repeat(rules.maxSkuLength + 1), "s\u0000", "s\u001b[31m", "\udfff"])(
    "refuses the sku %j",
    (sku) => given(created).when(add(sku)).thenRefuses("invalid_sku"),
  );

  it("refuses a 51st distinct line", () =>
    given(created, ...fiftyLines)
      .when(add("one-too-many"))
      .thenRefuses("too_many_lines"));

  it("still adds to an existing line when the basket has 50 lines", () =>
    given(created, ...fiftyLines)
      .when(add("sku-7"))
      .thenRecords(added("sku-7")));

  it("refuses on a basket that does not exist", () => given().when(add("a")).thenRefuses("basket_not_found"));

  it("refuses on a checked-out basket", () =>
    given(created, added("a"), checkedOut).when(add("b")).thenRefuses("basket_checked_out"));
});

describe("ChangeItemQuantity", () => {
  it("sets a line's quantity", () =>
    given(created, added("a", 2))
      .when(change("a", 5))
      .thenRecords({ type: "ItemQuantityChanged", data: { sku: "a", quantity: 5 } }));

  it("removes the line when the quantity is 0", () =>
    given(created, added("a", 2))
      .when(change("a", 0))
      .thenRecords({ type: "ItemRemoved", data: { sku: "a" } }));

  it("records nothing when the quantity is unchanged", () =>
    given(created, added("a", 2)).when(change("a", 2)).thenRecordsNothing());

  it.each([-1, 100, 2.5])("refuses the quantity %d", (quantity) =>
    given(created, added("a")).when(change("a", quantity)).thenRefuses("quantity_out_of_range"),
  );

  it("refuses an sku that is not in the basket", () =>
    given(created, added("a")).when(change("b", 1)).thenRefuses("item_not_in_basket"));

  it("refuses an sku that was removed", () =>
    given(created, added("a"), { type: "ItemRemoved", data: { sku: "a" } })
      .when(change("a", 1))
      .thenRefuses("item_not_in_basket"));

  it("refuses an invalid sku", () => given(created).when(change("", 1)).thenRefuses("invalid_sku"));

  it("refuses on a basket that does not exist", () =>
    given().when(change("a", 1)).thenRefuses("basket_not_found"));

  it("refuses on a checked-out basket", () =>
    given(created, added("a"), checkedOut).when(change("a", 2)).thenRefuses("basket_checked_out"));
});

describe("RemoveItem", () => {
  it("removes a line", () =>
    given(created, added("a"))
      .when(remove("a"))
      .thenRecords({ type: "ItemRemoved", data: { sku: "a" } }));

  it("refuses an sku that is not in the basket", () =>
    given(created, added("a")).when(remove("b")).thenRefuses("item_not_in_basket"));

  it("refuses an invalid sku", () => given(created).when(remove(" ")).thenRefuses("invalid_sku"));

  it("refuses on a basket that does not exist", () =>
    given().when(remove("a")).thenRefuses("basket_not_found"));

  it("refuses on a checked-out basket", () =>
    given(created, added("a"), checkedOut).when(remove("a")).thenRefuses("basket_checked_out"));
});

describe("ClearBasket", () => {
  it("clears every line", () =>
    given(created, added("a"), added("b")).when(clear).thenRecords({ type: "BasketCleared", data: {} }));

  it("records nothing on an empty basket", () => given(created).when(clear).thenRecordsNothing());

  it("refuses on a basket that does not exist", () => given().when(clear).thenRefuses("basket_not_found"));

  it("refuses on a checked-out basket", () =>
    given(created, added("a"), checkedOut).when(clear).thenRefuses("basket_checked_out"));
});

describe("CheckOut", () => {
  it("checks out at the catalog's prices, with the item count and the total in minor units", () =>
    given(created, added("a", 2, 333), added("b", 1, 1))
      .when(checkOutAgainst(offer("a", 333), offer("b", 1)))
      .thenRecords({ type: "BasketCheckedOut", data: { itemCount: 3, total: 667 } }));

  it("records a changed price and refuses, so the shopper sees the new total before paying", () =>
    given(created, added("a", 2, 333), added("b", 1, 1))
      .when(checkOutAgainst(offer("a", 350, { name: "Assam", revision: 3 }), offer("b", 1)))
      .thenRefusesRecording("prices_changed", {
        type: "LineRepriced",
        data: { sku: "a", name: "Assam", unitPrice: 350, productRevision: 3 },
      }));

  it("takes away lines the catalog no longer sells, saying why, and refuses", () =>
    given(created, added("a"), added("b"), added("c"), added("d"))
      .when(
        checkOutAgainst(
          offer("a"),
          offer("b", 1_000, { listed: false }),
          offer("c", 1_000, { currency: "USD" }),
        ),
      )
      .thenRefusesRecording(
        "prices_changed",
        { type: "LineRemoved", data: { sku: "b", reason: "delisted" } },
        { type: "LineRemoved", data: { sku: "c", reason: "no_price_in_currency" } },
        { type: "LineRemoved", data: { sku: "d", reason: "unknown_product" } },
      ));

  it("checks out once the basket holds the catalog's prices", () =>
    given(created, added("a", 2, 333), {
      type: "LineRepriced",
      data: { sku: "a", name: "Assam", unitPrice: 350, productRevision: 3 },
    })
      .when(checkOutAgainst(offer("a", 350)))
      .thenRecords({ type: "BasketCheckedOut", data: { itemCount: 2, total: 700 } }));

  it("does not refuse for a new name alone: only a price a shopper pays can change", () =>
    given(created, added("a", 1, 333))
      .when(checkOutAgainst(offer("a", 333, { name: "Renamed" })))
      .thenRecords({ type: "BasketCheckedOut", data: { itemCount: 1, total: 333 } }));

  it("refuses an empty basket", () => given(created).when(checkOut).thenRefuses("basket_empty"));

  it("refuses a basket emptied by clearing", () =>
    given(created, added("a"), { type: "BasketCleared", data: {} })
      .when(checkOut)
      .thenRefuses("basket_empty"));

  it("refuses on a basket that does not exist", () => given().when(checkOut).thenRefuses("basket_not_found"));

  it("refuses a second checkout", () =>
    given(created, added("a"), checkedOut).when(checkOut).thenRefuses("basket_checked_out"));
});

describe("the catalog's changes, folded", () => {
  it("reprices a line (name and price) and removes one", () =>
    expect(
      toBasketView(
        fold([
          created,
          added("a", 2, 333),
          added("b", 1, 100),
          { type: "LineRepriced", data: { sku: "a", name: "Assam", unitPrice: 350, productRevision: 3 } },
          { type: "LineRemoved", data: { sku: "b", reason: "delisted" } },
        ]),
      )?.lines,
    ).toEqual([{ sku: "a", name: "Assam", unitPrice: 350, quantity: 2, lineTotal: 700 }]));
});

describe("the basket view", () => {
  it("computes line totals, item count and total exactly in minor units", () => {
    const view = toBasketView(
      fold([
        created,
        added("a", 3, 1_999),
        added("b", 99, rules.maxUnitPrice),
        { type: "ItemQuantityChanged", data: { sku: "a", quantity: 7 } },
      ]),
    );
    expect(view).toEqual({
      id: basketId,
      visitorId: "visitor-1",
      status: "open",
      currency: "EUR",
      lines: [
        { sku: "a", name: "Product a", unitPrice: 1_999, quantity: 7, lineTotal: 13_993 },
        {
          sku: "b",
          name: "Product b",
          unitPrice: rules.maxUnitPrice,
          quantity: 99,
          lineTotal: 99 * rules.maxUnitPrice,
        },
      ],
      itemCount: 106,
      total: 13_993 + 99 * rules.maxUnitPrice,
    });
  });

  it("has no view for a basket that does not exist", () => expect(toBasketView(fold([]))).toBeUndefined());
});
