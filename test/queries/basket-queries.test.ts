import { v7 as uuidv7 } from "uuid";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Database } from "../../src/db/database.js";
import { BasketQueries } from "../../src/queries/basket-queries.js";
import { encodeCursor, InvalidCursor } from "../../src/queries/cursor.js";
import { type Backend, openTestDatabase } from "../support/databases.js";
import { emptyReadModel, insertBasket, insertPopularity } from "./read-model-rows.js";

const hour = 3_600_000;
const iso = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

describe.each<Backend>(["postgres", "pglite"])("BasketQueries on %s", (backend) => {
  let database: Database;
  let queries: BasketQueries;
  beforeAll(async () => {
    database = await openTestDatabase(backend);
    queries = new BasketQueries(database.db);
  });
  afterAll(() => database?.close());
  beforeEach(() => emptyReadModel(database.db));

  describe("getBasket", () => {
    it("answers the basket with its lines in line order and its amounts as numbers", async () => {
      const id = await insertBasket(database.db, {
        visitorId: "visitor-1",
        currency: "SEK",
        revision: 7,
        lines: [
          { sku: "tea", unitPrice: 450, quantity: 2, lineNo: 2 },
          { sku: "mug", unitPrice: 1290, quantity: 1, lineNo: 0 },
          { sku: "pot", unitPrice: 3000, quantity: 3, lineNo: 1 },
        ],
      });
      const basket = await queries.getBasket(id);
      expect(basket).toEqual({
        id,
        visitorId: "visitor-1",
        status: "open",
        currency: "SEK",
        lines: [
          { sku: "mug", name: "Product mug", unitPrice: 1290, quantity: 1, lineTotal: 1290 },
          { sku: "pot", name: "Product pot", unitPrice: 3000, quantity: 3, lineTotal: 9000 },
          { sku: "tea", name: "Product tea", unitPrice: 450, quantity: 2, lineTotal: 900 },
        ],
        itemCount: 6,
        total: 11_190,
        revision: 7,
        createdAt: expect.stringMatching(iso),
        updatedAt: expect.stringMatching(iso),
      });
      expect(Date.parse(basket?.updatedAt ?? "") - Date.parse(basket?.createdAt ?? "")).toBe(60_000);
    });

    it("answers an empty basket with no lines", async () => {
      const id = await insertBasket(database.db, { revision: 0 });
      expect(await queries.getBasket(id)).toMatchObject({
        lines: [],
        itemCount: 0,
        total: 0,
        visitorId: null,
      });
    });

    it("answers undefined for a basket not in the read model, or an id that is no UUID", async () => {
      await insertBasket(database.db);
      expect(await queries.getBasket(uuidv7())).toBeUndefined();
      expect(await queries.getBasket("not-a-uuid")).toBeUndefined();
    });
  });

  describe("listBaskets", () => {
    it("pages through every basket in id order, with no duplicate and no gap", async () => {
      const ids: string[] = [];
      for (let i = 0; i < 11; i++) ids.push(await insertBasket(database.db, { visitorId: "pager" }));
      ids.sort();
      const seen: string[] = [];
      let after: string | undefined;
      let pages = 0;
      do {
        const page = await queries.listBaskets({ limit: 4, ...(after === undefined ? {} : { after }) });
        seen.push(...page.items.map((item) => item.id));
        after = page.nextCursor ?? undefined;
        pages++;
        if (after) expect(page.items).toHaveLength(4);
      } while (after !== undefined && pages < 10);
      expect(pages).toBe(3);
      expect(seen).toEqual(ids);
    });

    it("says there is no next page when the last page is exactly full", async () => {
      for (let i = 0; i < 4; i++) await insertBasket(database.db);
      const first = await queries.listBaskets({ limit: 2 });
      expect(first.nextCursor).not.toBeNull();
      const second = await queries.listBaskets({ limit: 2, after: first.nextCursor as string });
      expect(second.items).toHaveLength(2);
      expect(second.nextCursor).toBeNull();
    });

    it("filters by visitor and status", async () => {
      const a1 = await insertBasket(database.db, { visitorId: "a" });
      const a2 = await insertBasket(database.db, { visitorId: "a", status: "checked_out", revision: 3 });
      const b1 = await insertBasket(database.db, { visitorId: "b", status: "checked_out" });
      await insertBasket(database.db);
      const ids = async (query: Parameters<BasketQueries["listBaskets"]>[0]) =>
        (await queries.listBaskets(query)).items.map((item) => item.id);
      expect(await ids({ limit: 10, visitorId: "a" })).toEqual([a1, a2]);
      expect(await ids({ limit: 10, status: "checked_out" })).toEqual([a2, b1]);
      expect(await ids({ limit: 10, visitorId: "a", status: "open" })).toEqual([a1]);
      expect(await ids({ limit: 10, visitorId: "nobody" })).toEqual([]);
      expect((await queries.listBaskets({ limit: 10, visitorId: "a" })).items[1]).toEqual({
        id: a2,
        visitorId: "a",
        status: "checked_out",
        currency: "EUR",
        lineCount: 0,
        itemCount: 0,
        total: 0,
        revision: 3,
        createdAt: expect.stringMatching(iso),
        updatedAt: expect.stringMatching(iso),
      });
    });

    it("continues a filtered listing after the cursor", async () => {
      const mine: string[] = [];
      for (let i = 0; i < 5; i++) {
        mine.push(await insertBasket(database.db, { visitorId: "me" }));
        await insertBasket(database.db, { visitorId: "someone else" });
      }
      const first = await queries.listBaskets({ limit: 3, visitorId: "me" });
      const second = await queries.listBaskets({
        limit: 3,
        visitorId: "me",
        after: first.nextCursor as string,
      });
      expect([...first.items, ...second.items].map((item) => item.id)).toEqual(mine);
      expect(second.nextCursor).toBeNull();
    });

    it("refuses a cursor it did not make", async () => {
      await expect(queries.listBaskets({ limit: 5, after: "bogus" })).rejects.toThrow(InvalidCursor);
      // A cursor past every basket is a valid, empty page.
      const past = encodeCursor("ffffffff-ffff-7fff-bfff-ffffffffffff");
      await insertBasket(database.db);
      expect(await queries.listBaskets({ limit: 5, after: past })).toEqual({ items: [], nextCursor: null });
    });
  });

  describe("popularProducts", () => {
    it("ranks by quantity checked out, then times added, then sku, and stops at the limit", async () => {
      await insertPopularity(database.db, [
        { sku: "c", added: 9, checkedOut: 2 },
        { sku: "a", added: 1, checkedOut: 5, removed: 1, open: 3 },
        { sku: "d", added: 9, checkedOut: 2 },
        { sku: "b", added: 20, checkedOut: 2 },
        { sku: "e", added: 50, checkedOut: 0 },
      ]);
      const ranked = await queries.popularProducts(10);
      expect(ranked.map((row) => row.sku)).toEqual(["a", "b", "c", "d", "e"]);
      expect(ranked[0]).toEqual({
        sku: "a",
        timesAdded: 1,
        timesRemoved: 1,
        quantityInOpenBaskets: 3,
        quantityCheckedOut: 5,
      });
      expect((await queries.popularProducts(2)).map((row) => row.sku)).toEqual(["a", "b"]);
    });
  });

  describe("abandonedBaskets", () => {
    it("finds open, non-empty baskets untouched for longer than asked, the oldest first", async () => {
      const line = { sku: "x", unitPrice: 100, quantity: 1 };
      const twoDays = await insertBasket(database.db, { lines: [line], updatedAgo: "2 days" });
      const threeHours = await insertBasket(database.db, { lines: [line], updatedAgo: "3 hours" });
      const ninetyMinutes = await insertBasket(database.db, { lines: [line], updatedAgo: "90 minutes" });
      const tenMinutes = await insertBasket(database.db, { lines: [line], updatedAgo: "10 minutes" });
      await insertBasket(database.db, { lines: [line], updatedAgo: "5 days", status: "checked_out" });
      await insertBasket(database.db, { updatedAgo: "5 days" }); // empty
      await insertBasket(database.db, { lines: [line] }); // just now

      const abandoned = async (olderThanMs: number, limit = 50) =>
        (await queries.abandonedBaskets(olderThanMs, limit)).map((basket) => basket.id);
      expect(await abandoned(hour)).toEqual([twoDays, threeHours, ninetyMinutes]);
      expect(await abandoned(2 * hour)).toEqual([twoDays, threeHours]);
      expect(await abandoned(5 * 60_000)).toEqual([twoDays, threeHours, ninetyMinutes, tenMinutes]);
      expect(await abandoned(24 * hour)).toEqual([twoDays]);
      expect(await abandoned(14 * 24 * hour)).toEqual([]);
      expect(await abandoned(hour, 2)).toEqual([twoDays, threeHours]);
      expect((await queries.abandonedBaskets(hour, 1))[0]).toMatchObject({
        lineCount: 1,
        itemCount: 1,
        total: 100,
      });
    });
  });

  it("revisionsOf answers the revision of each basket in the read model", async () => {
    const a = await insertBasket(database.db, { revision: 4 });
    const b = await insertBasket(database.db, { revision: 0 });
    const revisions = await queries.revisionsOf([a, b, uuidv7(), "not-a-uuid"]);
    expect(revisions).toEqual(
      new Map([
        [a, 4n],
        [b, 0n],
      ]),
    );
    expect(await queries.revisionsOf([])).toEqual(new Map());
  });
});
