import { describe, expect, it } from "vitest";
import { fold, rules } from "../../src/aggregates/basket/index.js";
import { fold as foldProduct } from "../../src/aggregates/product/index.js";
import { delist, delisted, given, listed, put } from "./product-spec.js";

describe("PutProduct", () => {
  it("lists a product never seen, with its prices per currency", () =>
    given()
      .when(put("TEA", { EUR: 450, USD: 499 }, "Green tea"))
      .thenRecords({
        type: "ProductListed",
        data: { sku: "TEA", name: "Green tea", prices: { EUR: 450, USD: 499 } },
      }));

  it("records nothing when the product is already as asked, whatever the order of its currencies", () =>
    given(listed("TEA", { EUR: 450, USD: 499 }))
      .when(put("TEA", { USD: 499, EUR: 450 }))
      .thenRecordsNothing());

  it("records only the prices when only they change", () =>
    given(listed("TEA", { EUR: 450 }))
      .when(put("TEA", { EUR: 480 }))
      .thenRecords({ type: "ProductChanged", data: { sku: "TEA", prices: { EUR: 480 } } }));

  it("records only the name when only it changes", () =>
    given(listed("TEA"))
      .when(put("TEA", { EUR: 450 }, "Sencha"))
      .thenRecords({ type: "ProductChanged", data: { sku: "TEA", name: "Sencha" } }));

  it("records a currency dropped as a change of prices", () =>
    given(listed("TEA", { EUR: 450, USD: 499 }))
      .when(put("TEA", { EUR: 450 }))
      .thenRecords({ type: "ProductChanged", data: { sku: "TEA", prices: { EUR: 450 } } }));

  it("lists a delisted product again, whole", () =>
    given(listed("TEA"), delisted("TEA"))
      .when(put("TEA", { EUR: 500 }, "Green tea"))
      .thenRecords({ type: "ProductListed", data: { sku: "TEA", name: "Green tea", prices: { EUR: 500 } } }));

  it("delists a listed product put as not listed, recording a change of price first", () =>
    given(listed("TEA", { EUR: 450 }))
      .when(put("TEA", { EUR: 500 }, "Product TEA", false))
      .thenRecords(
        { type: "ProductChanged", data: { sku: "TEA", prices: { EUR: 500 } } },
        { type: "ProductDelisted", data: { sku: "TEA" } },
      ));

  it("records nothing for a delisted product put as not listed and otherwise the same", () =>
    given(listed("TEA"), delisted("TEA"))
      .when(put("TEA", { EUR: 450 }, "Product TEA", false))
      .thenRecordsNothing());

  it.each([
    ["no currency at all", {}],
    ["a currency that is no ISO 4217 code", { EURO: 450 }],
    ["a negative price", { EUR: -1 }],
    ["a price with cents after a point", { EUR: 4.5 }],
    ["a price beyond bounds", { EUR: rules.maxUnitPrice + 1 }],
  ])("refuses %s", (_, prices) => given().when(put("TEA", prices)).thenRefuses("invalid_prices"));

  it("refuses more currencies than a product may have", () => {
    const currencies = Intl.supportedValuesOf("currency").slice(0, rules.maxCurrencies + 1);
    given()
      .when(put("TEA", Object.fromEntries(currencies.map((currency) => [currency, 100]))))
      .thenRefuses("invalid_prices");
  });

  it.each(["", "  ", "x".repeat(rules.maxSkuLength + 1), "a\u0000b"])("refuses the sku %j", (sku) =>
    given().when(put(sku)).thenRefuses("invalid_sku"),
  );

  it.each(["", "   ", "n".repeat(rules.maxNameLength + 1)])("refuses the name %j", (name) =>
    given()
      .when(put("TEA", { EUR: 1 }, name))
      .thenRefuses("invalid_name"),
  );
});

describe("DelistProduct", () => {
  it("delists a listed product", () =>
    given(listed("TEA"))
      .when(delist("TEA"))
      .thenRecords({ type: "ProductDelisted", data: { sku: "TEA" } }));

  it("records nothing for a product delisted already", () =>
    given(listed("TEA"), delisted("TEA")).when(delist("TEA")).thenRecordsNothing());

  it("refuses a product the catalog never had", () =>
    given().when(delist("TEA")).thenRefuses("product_not_found"));
});

describe("a product's state", () => {
  it("folds its history: the latest name and prices, and whether it is sold", () => {
    expect(
      foldProduct([
        listed("TEA", { EUR: 450 }, "Green tea"),
        { type: "ProductChanged", data: { sku: "TEA", prices: { EUR: 480, USD: 520 } } },
        { type: "ProductChanged", data: { sku: "TEA", name: "Sencha" } },
        delisted("TEA"),
      ]),
    ).toEqual({ status: "delisted", sku: "TEA", name: "Sencha", prices: { EUR: 480, USD: 520 } });
    // A basket's fold is untouched by a product's events: the two are apart.
    expect(fold([])).toEqual({ status: "none" });
  });
});
