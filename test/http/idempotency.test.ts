import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { basketStream } from "../../src/aggregates/basket/index.js";
import type { EventStore } from "../../src/eventstore/port.js";
import { type CreatedBasket, createBasket } from "../support/baskets.js";
import { startCommandCluster } from "../support/command-cluster.js";
import { expectProblem } from "../support/problems.js";

const json = { "content-type": "application/json" };

describe("Idempotency-Keys", () => {
  let cluster: Awaited<ReturnType<typeof startCommandCluster>>;
  beforeAll(async () => {
    // No worker at first: each test adds the ones it needs (one of them made slow on purpose).
    cluster = await startCommandCluster({ workers: 1 });
    await cluster.seedCatalog({ TEA: 450, MUG: 1290 });
  });
  afterAll(() => cluster?.stop());

  const send = (method: "POST" | "PUT" | "DELETE" | "GET", url: string, body?: unknown, headers = {}) =>
    cluster.app.inject({
      method,
      url,
      headers: body === undefined ? headers : { ...json, ...headers },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });
  const on = (
    basket: CreatedBasket,
    method: "POST" | "PUT" | "DELETE",
    path: string,
    body?: unknown,
    headers = {},
  ) => send(method, `/baskets/${basket.id}${path}`, body, { ...basket.auth, ...headers });
  const events = (basketId: string) => cluster.store.readStream(basketStream(basketId));

  it("creates one basket for a create retried with its key, answered again with its token", async () => {
    const key = randomUUID();
    const first = await send("POST", "/baskets", { currency: "SEK" }, { "idempotency-key": key });
    const again = await send("POST", "/baskets", { currency: "SEK" }, { "idempotency-key": key });
    expect(first.statusCode).toBe(201);
    expect(again.statusCode).toBe(201);
    expect(again.headers["idempotent-replayed"]).toBe("true");
    const { id, token } = first.json() as { id: string; token: string };
    expect(again.json()).toMatchObject({ id, token });
    expect(first.headers["cache-control"]).toBe("no-store");
    expect(await events(id)).toHaveLength(1);
  });

  it("refuses another client's key sent with another body: no basket, no token", async () => {
    const key = randomUUID();
    const mine = await send("POST", "/baskets", { visitorId: "alice" }, { "idempotency-key": key });
    const theirs = await send("POST", "/baskets", { visitorId: "mallory" }, { "idempotency-key": key });
    expectProblem(theirs, 422, "idempotency_key_reused");
    expect(theirs.json()).not.toHaveProperty("token");
    expect(theirs.headers["set-cookie"]).toBeUndefined();
    expect(await events((mine.json() as { id: string }).id)).toHaveLength(1);
  });

  it.each([
    ["16 of one character", "aaaaaaaaaaaaaaaa"],
    ["21 base64url characters", "abcdefghijklmnopqrstu"],
    ["a key with a space", `${randomUUID()} x`],
  ])("refuses a create key of %s: it would not keep the token secret", async (_, key) => {
    expectProblem(await send("POST", "/baskets", {}, { "idempotency-key": key }), 400, "invalid_request");
  });

  it("takes a UUID or 22 base64url characters as a create key", async () => {
    for (const key of [randomUUID(), "Ab_9-xYzAb_9-xYzAb_9-x"])
      expect((await send("POST", "/baskets", {}, { "idempotency-key": key })).statusCode).toBe(201);
  });

  it("refuses a key reused for another command, another route or another basket, changing nothing", async () => {
    const basket = await createBasket(cluster.app);
    const other = await createBasket(cluster.app);
    const key = "K-tea-once";
    expect(
      (await on(basket, "POST", "/items", { sku: "TEA", quantity: 1 }, { "idempotency-key": key }))
        .statusCode,
    ).toBe(200);
    // The same request again is answered as it was.
    const replay = await on(
      basket,
      "POST",
      "/items",
      { sku: "TEA", quantity: 1 },
      { "idempotency-key": key },
    );
    expect(replay.statusCode).toBe(200);
    expect(replay.headers["idempotent-replayed"]).toBe("true");
    expectProblem(
      await on(basket, "POST", "/items", { sku: "MUG", quantity: 3 }, { "idempotency-key": key }),
      422,
      "idempotency_key_reused",
    );
    expectProblem(
      await on(basket, "POST", "/checkout", undefined, { "idempotency-key": key }),
      422,
      "idempotency_key_reused",
    );
    expectProblem(
      await on(other, "POST", "/items", { sku: "TEA", quantity: 1 }, { "idempotency-key": key }),
      422,
      "idempotency_key_reused",
    );
    expect((await events(basket.id)).map((event) => event.type)).toEqual(["BasketCreated", "ItemAdded"]);
    expect(await events(other.id)).toHaveLength(1);
  });

  it("answers 409 while the first request with a key is still running, and the first once after", async () => {
    const slow = slowAppends(cluster.store, 800);
    const { worker } = await cluster.addWorker(slow.store);
    try {
      // Only the slow worker serves this while the others stop for a moment.
      for (const { worker: fast } of cluster.workers.filter((w) => w.worker !== worker)) await fast.stop();
      const basket = await createBasket(cluster.app);
      const key = "K-in-flight";
      const first = on(basket, "POST", "/items", { sku: "TEA", quantity: 2 }, { "idempotency-key": key });
      await slow.appending;
      const during = await on(
        basket,
        "POST",
        "/items",
        { sku: "TEA", quantity: 2 },
        { "idempotency-key": key },
      );
      expectProblem(during, 409, "idempotency_key_in_use");
      expect(during.headers["retry-after"]).toBe("1");
      expect((await first).statusCode).toBe(200);
      const after = await on(
        basket,
        "POST",
        "/items",
        { sku: "TEA", quantity: 2 },
        { "idempotency-key": key },
      );
      expect(after.headers["idempotent-replayed"]).toBe("true");
      expect((await events(basket.id)).filter((event) => event.type === "ItemAdded")).toHaveLength(1);
    } finally {
      slow.release();
    }
  });

  it("keeps the key itself out of the events, the headers and the URLs", async () => {
    const key = `secret-key-${randomUUID()}`;
    const createKey = randomUUID();
    const created = await send("POST", "/baskets", {}, { "idempotency-key": createKey });
    const basket = {
      id: (created.json() as { id: string }).id,
      auth: { authorization: `Bearer ${(created.json() as { token: string }).token}` },
    };
    const queued = await send(
      "POST",
      `/baskets/${basket.id}/items`,
      { sku: "TEA", quantity: 1 },
      { ...basket.auth, "idempotency-key": key, prefer: "respond-async" },
    );
    expect(queued.statusCode).toBe(202);
    const location = String(queued.headers.location);
    expect(location).toMatch(/^\/commands\/[0-9a-f-]{36}$/);
    for (const answer of [created, queued]) {
      expect(JSON.stringify(answer.headers)).not.toContain(key);
      expect(JSON.stringify(answer.headers)).not.toContain(createKey);
    }
    await expect
      .poll(async () => (await send("GET", location, undefined, basket.auth)).json(), { timeout: 10_000 })
      .toMatchObject({ status: "succeeded" });
    const stored = JSON.stringify(await events(basket.id), (_, value) =>
      typeof value === "bigint" ? `${value}` : value,
    );
    expect(stored).not.toContain(key);
    expect(stored).not.toContain(createKey);
    expect(stored).toContain("idempotencyKey");
    // A status is asked for by the server's command id only.
    expectProblem(await send("GET", `/commands/${key}`, undefined, basket.auth), 400, "invalid_request");
  });
});

/** The store, its appends held until released: a command that takes as long as the test needs. */
function slowAppends(store: EventStore, maxMs: number) {
  let started!: () => void;
  const appending = new Promise<void>((resolve) => {
    started = resolve;
  });
  let release!: () => void;
  const released = new Promise<void>((resolve) => {
    release = resolve;
    setTimeout(resolve, maxMs);
  });
  const slow: EventStore = {
    ...store,
    readStream: (stream, from) => store.readStream(stream, from),
    readAll: (options) => store.readAll(options),
    follow: (options) => store.follow(options),
    onAppended: (listener) => store.onAppended(listener),
    close: () => store.close(),
    async append(stream, events, expected) {
      if (stream.startsWith("basket-") && events.some((event) => event.type === "ItemAdded")) {
        started();
        await released;
      }
      return store.append(stream, events, expected);
    },
  };
  return { store: slow, appending, release };
}
