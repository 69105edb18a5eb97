import type { FastifyInstance } from "fastify";
import { pino } from "pino";
import { v7 as uuidv7 } from "uuid";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { CommandBus } from "../../src/commands/command-bus.js";
import type { IdempotencyClaims } from "../../src/commands/idempotency-claims.js";
import type { Database } from "../../src/db/database.js";
import { buildHttpApp } from "../../src/http/app.js";
import { IdempotencyKeys } from "../../src/http/idempotency.js";
import { BasketQueries } from "../../src/queries/basket-queries.js";
import { encodeCursor } from "../../src/queries/cursor.js";
import { RevisionWaiter, type RevisionWaiterOptions } from "../../src/queries/revision-waiter.js";
import { adminAuth, testAccess, testTokenSecret } from "../support/baskets.js";
import { openTestDatabase } from "../support/databases.js";
import { expectProblem } from "../support/problems.js";
import {
  emptyReadModel,
  insertBasket,
  insertPopularity,
  notifyReadModelAdvanced,
  setRevision,
} from "./read-model-rows.js";

// Only the query routes run here: the command side must not be touched.
const bus: CommandBus = {
  send: () => {
    throw new Error("the query routes sent a command");
  },
};
const claims: IdempotencyClaims = {
  claim: () => {
    throw new Error("the query routes claimed an idempotency key");
  },
  done: () => {
    throw new Error("the query routes claimed an idempotency key");
  },
};
const keys = new IdempotencyKeys(testTokenSecret);

describe("the query routes, over PostgreSQL", () => {
  let database: Database;
  let queries: BasketQueries;
  const started: { app: FastifyInstance; waiter: RevisionWaiter }[] = [];
  let listens = 0;

  /** The HTTP API with the query routes, its waiter tuned as the test needs. */
  const startApp = async (options: RevisionWaiterOptions = {}) => {
    const counted = {
      listen: (channel: string, onNotify: () => void) => {
        listens++;
        return database.listen(channel, onNotify);
      },
    };
    const waiter = await RevisionWaiter.open(counted, queries, options);
    const app = await buildHttpApp({
      logger: pino({ level: "silent" }),
      commands: { bus, keys, claims },
      version: "0.0.0-test",
      queries: { queries, waiter },
      access: testAccess(),
    });
    started.push({ app, waiter });
    return app;
  };

  let app: FastifyInstance;
  beforeAll(async () => {
    database = await openTestDatabase("postgres");
    queries = new BasketQueries(database.db);
    app = await startApp();
  });
  afterAll(async () => {
    for (const { app, waiter } of started) {
      await app.close();
      await waiter.close();
    }
    await database?.close();
  });
  beforeEach(() => emptyReadModel(database.db));

  // As the operator, who may read every basket: these rows were made with no token (what a
  // visitor's token opens is test/http/access.test.ts's).
  const get = (url: string, on = app) => on.inject({ method: "GET", url, headers: adminAuth });

  it("documents the query routes in the OpenAPI document", async () => {
    const document = (await get("/docs/json")).json();
    for (const path of ["/baskets/{id}", "/baskets", "/baskets/abandoned", "/products/popular"]) {
      expect(document.paths[path]?.get?.tags).toEqual(["basket queries"]);
    }
    expect(document.paths["/baskets"].post).toBeDefined(); // the commands are still there
  });

  describe("GET /baskets/:id", () => {
    it("answers the basket with its revision as the ETag", async () => {
      const id = await insertBasket(database.db, {
        visitorId: "v1",
        revision: 3,
        lines: [
          { sku: "b", unitPrice: 200, quantity: 2 },
          { sku: "a", unitPrice: 150, quantity: 1 },
        ],
      });
      const response = await get(`/baskets/${id}`);
      expect(response.statusCode).toBe(200);
      expect(response.headers.etag).toBe('"3"');
      expect(response.headers["content-type"]).toMatch(/^application\/json/);
      const body = response.json();
      expect(body).toEqual({
        id,
        visitorId: "v1",
        status: "open",
        currency: "EUR",
        lines: [
          { sku: "b", name: "Product b", unitPrice: 200, quantity: 2, lineTotal: 400 },
          { sku: "a", name: "Product a", unitPrice: 150, quantity: 1, lineTotal: 150 },
        ],
        itemCount: 3,
        total: 550,
        revision: 3,
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
      });
      expect(new Date(body.updatedAt).toISOString()).toBe(body.updatedAt);
    });

    it("answers 404 basket_not_found for a basket the read model does not know", async () => {
      const id = uuidv7();
      const response = await get(`/baskets/${id}`);
      expectProblem(response, 404, "basket_not_found");
      expect(response.json().detail).toContain(id);
      expect(response.headers.etag).toBeUndefined();
    });

    it("answers 400 invalid_request for an id that is no UUID, or a bad minRevision", async () => {
      expectProblem(await get("/baskets/not-a-uuid"), 400, "invalid_request");
      const id = await insertBasket(database.db);
      expectProblem(await get(`/baskets/${id}?minRevision=-1`), 400, "invalid_request");
      expectProblem(await get(`/baskets/${id}?minRevision=soon`), 400, "invalid_request");
      expectProblem(await get(`/baskets/${id}?minRevison=1`), 400, "invalid_request"); // a typo
    });

    it("answers at once when the read model already reached minRevision", async () => {
      const id = await insertBasket(database.db, { revision: 5 });
      const started = Date.now();
      const response = await get(`/baskets/${id}?minRevision=4`);
      expect(response.statusCode).toBe(200);
      expect(response.headers.etag).toBe('"5"');
      expect(Date.now() - started).toBeLessThan(500);
    });

    it("waits for minRevision and is woken by the projections' NOTIFY", async () => {
      // No poll within the test's time: only the notification can wake the wait.
      const notified = await startApp({ pollIntervalMs: 60_000, timeoutMs: 10_000 });
      const id = await insertBasket(database.db, { revision: 1 });
      const started = Date.now();
      const answer = get(`/baskets/${id}?minRevision=2`, notified);
      await new Promise((resolve) => setTimeout(resolve, 300));
      await setRevision(database.db, id, 2);
      await notifyReadModelAdvanced(database.db);
      const response = await answer;
      const elapsed = Date.now() - started;
      expect(response.statusCode).toBe(200);
      expect(response.json().revision).toBe(2);
      expect(response.headers.etag).toBe('"2"');
      expect(elapsed).toBeGreaterThanOrEqual(300);
      expect(elapsed).toBeLessThan(5_000);
    });

    it("finds minRevision by polling when no NOTIFY comes", async () => {
      const polling = await startApp({ pollIntervalMs: 50, timeoutMs: 5_000 });
      const id = await insertBasket(database.db, { revision: 1 });
      const answer = get(`/baskets/${id}?minRevision=3`, polling);
      await new Promise((resolve) => setTimeout(resolve, 300));
      await setRevision(database.db, id, 3);
      const response = await answer;
      expect(response.statusCode).toBe(200);
      expect(response.headers.etag).toBe('"3"');
    });

    it("answers 503 read_model_behind with Retry-After when minRevision is not reached in time", async () => {
      const impatient = await startApp({ pollIntervalMs: 50, timeoutMs: 300 });
      const id = await insertBasket(database.db, { revision: 1 });
      const started = Date.now();
      const response = await get(`/baskets/${id}?minRevision=2`, impatient);
      expect(Date.now() - started).toBeGreaterThanOrEqual(290);
      expectProblem(response, 503, "read_model_behind");
      expect(response.headers["retry-after"]).toBe("1");
      expect(response.json()).toMatchObject({ minRevision: 2 });
      // Also for a basket the read model has not seen at all yet.
      const unseen = await get(`/baskets/${uuidv7()}?minRevision=0`, impatient);
      expectProblem(unseen, 503, "read_model_behind");
    });

    it("serves many concurrent waits with the one listener of its waiter", async () => {
      const listensBefore = listens;
      const shared = await startApp({ pollIntervalMs: 60_000, timeoutMs: 10_000 });
      expect(listens).toBe(listensBefore + 1);
      const ids = await Promise.all(
        Array.from({ length: 5 }, () => insertBasket(database.db, { revision: 0 })),
      );
      const answers = ids.flatMap((id) =>
        [1, 2, 3, 4].map((n) => get(`/baskets/${id}?minRevision=${n}`, shared)),
      );
      await new Promise((resolve) => setTimeout(resolve, 200));
      const waiter = started.at(-1)?.waiter;
      expect(waiter?.pending).toBe(20);
      for (const id of ids) await setRevision(database.db, id, 4);
      await notifyReadModelAdvanced(database.db);
      const responses = await Promise.all(answers);
      expect(responses.map((response) => response.statusCode)).toEqual(Array(20).fill(200));
      expect(listens).toBe(listensBefore + 1);
      expect(waiter?.pending).toBe(0);
    });
  });

  describe("GET /baskets", () => {
    it("pages through the baskets with an opaque cursor, with no duplicate and no gap", async () => {
      const ids: string[] = [];
      for (let i = 0; i < 12; i++) ids.push(await insertBasket(database.db, { visitorId: "pager" }));
      const seen: string[] = [];
      let url = "/baskets?visitorId=pager&limit=5";
      const nextCursors: (string | null)[] = [];
      for (let page = 0; page < 10; page++) {
        const response = await get(url);
        expect(response.statusCode).toBe(200);
        const body = response.json();
        seen.push(...body.items.map((item: { id: string }) => item.id));
        nextCursors.push(body.nextCursor);
        if (body.nextCursor === null) break;
        url = `/baskets?visitorId=pager&limit=5&cursor=${encodeURIComponent(body.nextCursor)}`;
      }
      expect(nextCursors).toHaveLength(3);
      expect(nextCursors.at(-1)).toBeNull();
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen).toEqual([...ids].sort());
    });

    it("filters by visitor and by status, and answers summaries without lines", async () => {
      const open = await insertBasket(database.db, {
        visitorId: "v",
        lines: [{ sku: "a", unitPrice: 100, quantity: 3 }],
        revision: 2,
      });
      const done = await insertBasket(database.db, { visitorId: "v", status: "checked_out" });
      await insertBasket(database.db, { visitorId: "w", status: "checked_out" });
      const items = async (query: string) => (await get(`/baskets?${query}`)).json().items;

      expect((await items("visitorId=v")).map((b: { id: string }) => b.id)).toEqual([open, done]);
      expect((await items("visitorId=v&status=checked_out")).map((b: { id: string }) => b.id)).toEqual([
        done,
      ]);
      expect(await items("status=checked_out")).toHaveLength(2);
      expect((await items("visitorId=v&status=open"))[0]).toEqual({
        id: open,
        visitorId: "v",
        status: "open",
        currency: "EUR",
        lineCount: 1,
        itemCount: 3,
        total: 300,
        revision: 2,
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
      });
    });

    it("answers 20 by default and at most 100", async () => {
      for (let i = 0; i < 21; i++) await insertBasket(database.db);
      const page = (await get("/baskets")).json();
      expect(page.items).toHaveLength(20);
      expect(page.nextCursor).toEqual(expect.any(String));
      expectProblem(await get("/baskets?limit=0"), 400, "invalid_request");
      expectProblem(await get("/baskets?limit=101"), 400, "invalid_request");
      expectProblem(await get("/baskets?status=pending"), 400, "invalid_request");
      // Text PostgreSQL could not compare with: refused here, not by the database.
      expectProblem(await get("/baskets?visitorId=v%00"), 400, "invalid_request");
    });

    it("answers 400 invalid_cursor for a cursor it did not make", async () => {
      await insertBasket(database.db);
      for (const cursor of ["nonsense", Buffer.from("not an id").toString("base64url"), uuidv7()]) {
        const response = await get(`/baskets?cursor=${encodeURIComponent(cursor)}`);
        expectProblem(response, 400, "invalid_cursor");
      }
      expect((await get(`/baskets?cursor=${encodeCursor(uuidv7())}`)).statusCode).toBe(200);
    });
  });

  describe("GET /products/popular", () => {
    it("ranks by quantity checked out, then times added, then sku; 10 by default", async () => {
      await insertPopularity(
        database.db,
        Array.from({ length: 12 }, (_, i) => ({
          sku: `p${String(i).padStart(2, "0")}`,
          added: i,
          checkedOut: i % 3,
        })),
      );
      const response = await get("/products/popular");
      expect(response.statusCode).toBe(200);
      const skus = response.json().items.map((row: { sku: string }) => row.sku);
      // checked out 2: p11, p08, p05, p02 (by times added); then 1: p10, p07, p04, p01; then 0: p09, p06
      expect(skus).toEqual(["p11", "p08", "p05", "p02", "p10", "p07", "p04", "p01", "p09", "p06"]);
      const top = await get("/products/popular?limit=2");
      expect(top.json()).toEqual({
        items: [
          { sku: "p11", timesAdded: 11, timesRemoved: 0, quantityInOpenBaskets: 0, quantityCheckedOut: 2 },
          { sku: "p08", timesAdded: 8, timesRemoved: 0, quantityInOpenBaskets: 0, quantityCheckedOut: 2 },
        ],
      });
      expectProblem(await get("/products/popular?limit=101"), 400, "invalid_request");
    });
  });

  describe("GET /baskets/abandoned", () => {
    const line = { sku: "x", unitPrice: 100, quantity: 2 };
    let ids: Record<string, string>;
    beforeEach(async () => {
      ids = {
        threeWeeks: await insertBasket(database.db, { lines: [line], updatedAgo: "21 days" }),
        twoDays: await insertBasket(database.db, { lines: [line], updatedAgo: "2 days" }),
        threeHours: await insertBasket(database.db, { lines: [line], updatedAgo: "3 hours" }),
        ninetyMinutes: await insertBasket(database.db, { lines: [line], updatedAgo: "90 minutes" }),
        fortyMinutes: await insertBasket(database.db, { lines: [line], updatedAgo: "40 minutes" }),
        oneMinute: await insertBasket(database.db, { lines: [line], updatedAgo: "1 minute" }),
      };
      await insertBasket(database.db, { lines: [line], updatedAgo: "30 days", status: "checked_out" });
      await insertBasket(database.db, { updatedAgo: "30 days" }); // empty
    });
    const abandoned = async (query: string) => {
      const response = await get(`/baskets/abandoned${query}`);
      expect(response.statusCode).toBe(200);
      const names = Object.fromEntries(Object.entries(ids).map(([name, id]) => [id, name]));
      return response.json().items.map((item: { id: string }) => names[item.id] ?? item.id);
    };

    it("takes the static route, not /baskets/:id", async () => {
      const response = await get("/baskets/abandoned");
      expect(response.statusCode).toBe(200);
      expect(response.json().items[0]).toMatchObject({ id: ids.threeWeeks, status: "open", itemCount: 2 });
    });

    it.each([
      ["", ["threeWeeks", "twoDays", "threeHours", "ninetyMinutes"]],
      ["?olderThan=PT30M", ["threeWeeks", "twoDays", "threeHours", "ninetyMinutes", "fortyMinutes"]],
      ["?olderThan=PT2H", ["threeWeeks", "twoDays", "threeHours"]],
      ["?olderThan=P1D", ["threeWeeks", "twoDays"]],
      ["?olderThan=P1DT2H30M", ["threeWeeks", "twoDays"]],
      [
        "?olderThan=PT45S",
        ["threeWeeks", "twoDays", "threeHours", "ninetyMinutes", "fortyMinutes", "oneMinute"],
      ],
      ["?olderThan=P2W", ["threeWeeks"]],
      ["?olderThan=P4W", []],
      ["?olderThan=PT30M&limit=2", ["threeWeeks", "twoDays"]],
    ])("olderThan %j", async (query, expected) => {
      expect(await abandoned(query)).toEqual(expected);
    });

    it.each(["P1M", "P1Y", "P1Y2M3D"])(
      "refuses %s with 400 invalid_duration: years and months are ambiguous",
      async (duration) => {
        const response = await get(`/baskets/abandoned?olderThan=${duration}`);
        expectProblem(response, 400, "invalid_duration");
        expect(response.json().detail).toMatch(/years or months/);
      },
    );

    it.each(["1h", "PT", "P1DT", "-PT1H", "P100000D"])(
      "refuses %s with 400 invalid_duration",
      async (duration) => {
        expectProblem(await get(`/baskets/abandoned?olderThan=${duration}`), 400, "invalid_duration");
      },
    );

    it("refuses a bad limit with 400 invalid_request", async () => {
      expectProblem(await get("/baskets/abandoned?limit=0"), 400, "invalid_request");
    });
  });
});
