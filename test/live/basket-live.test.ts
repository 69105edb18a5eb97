import { pino } from "pino";
import { v7 as uuidv7 } from "uuid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/config.js";
import { type Running, serve } from "../../src/serve/serve.js";
import { bearer, createBasket, operatorEnv, testAccess, testTokenSecret } from "../support/baskets.js";
import { putCatalog } from "../support/catalog.js";
import { createPostgresDatabase } from "../support/databases.js";
import { connectNats, testNatsUrl, uniquePrefix } from "../support/nats.js";
import { connectSse } from "../support/sse.js";

const log = pino({ level: "silent" });

/** The service as `basket serve` wires it: embedded (PGlite, no NATS) or with NATS and PostgreSQL. */
const modes = {
  "embedded, without NATS (an in-process feed)": async () => {
    const env = {
      PGLITE_DATA_DIR: "memory://",
      BASKET_TOKEN_SECRETS: testTokenSecret,
      ADMIN_TOKENS: operatorEnv.ADMIN_TOKENS,
      PORT: "0",
    };
    const running = await serve("all", loadConfig(env), log);
    return { running, cleanUp: async () => {} };
  },
  "with NATS (fed by the event relay's stream)": async () => {
    const database = await createPostgresDatabase();
    const prefix = uniquePrefix("live");
    const env = {
      DATABASE_URL: database.url,
      MIGRATE_ON_START: "true",
      NATS_URL: testNatsUrl,
      NATS_SUBJECT_PREFIX: prefix,
      BASKET_TOKEN_SECRETS: testTokenSecret,
      ADMIN_TOKENS: operatorEnv.ADMIN_TOKENS,
      PORT: "0",
    };
    const running = await serve("all", loadConfig(env), log);
    return {
      running,
      async cleanUp() {
        const nc = await connectNats("test-live-cleanup");
        const jsm = await nc.jetstreamManager();
        for (const { config } of await jsm.streams.list().next())
          if (config.name.includes(prefix)) await jsm.streams.delete(config.name);
        await nc.close();
        await database.drop();
      },
    };
  },
};

describe.each(Object.entries(modes))("GET /baskets/:id/live, %s", (_, start) => {
  let running: Running;
  let url: string;
  let cleanUp: () => Promise<void>;
  beforeAll(async () => {
    ({ running, cleanUp } = await start());
    url = running.url as string;
    await putCatalog(url, { tea: 300, mug: 300, a: 300, b: 300, c: 300, d: 300 });
  }, 60_000);
  afterAll(async () => {
    await running?.stop();
    await cleanUp?.();
  });

  const add = async (basket: { id: string; auth: Record<string, string> }, sku: string, quantity = 1) => {
    const response = await fetch(`${url}/baskets/${basket.id}/items`, {
      method: "POST",
      headers: { "content-type": "application/json", ...basket.auth },
      body: JSON.stringify({ sku, quantity }),
    });
    expect(response.status).toBe(200);
  };
  const states = (events: { id?: string | undefined; event?: string | undefined; data: string }[]) =>
    events.map((event) => ({ ...JSON.parse(event.data), eventId: event.id, event: event.event }));

  it("sends the basket now, then its state after every change", async () => {
    const basket = await createBasket(url);
    const { id } = basket;
    await add(basket, "tea");
    const live = await connectSse(`${url}/baskets/${id}/live`, basket.auth);
    try {
      expect(live.status).toBe(200);
      expect(live.headers.get("content-type")).toMatch(/^text\/event-stream/);
      expect(states(await live.received(1))).toEqual([
        expect.objectContaining({ id, eventId: "1", event: "basket", revision: 1, total: 300, itemCount: 1 }),
      ]);
      await add(basket, "tea", 2);
      await add(basket, "mug");
      expect(
        states(await live.received(3)).map(({ eventId, revision, itemCount }) => [
          eventId,
          revision,
          itemCount,
        ]),
      ).toEqual([
        ["1", 1, 1],
        ["2", 2, 3],
        ["3", 3, 4],
      ]);
      expect(states(live.events).at(-1)).toMatchObject({
        id,
        lines: [
          { sku: "tea", quantity: 3, lineTotal: 900 },
          { sku: "mug", quantity: 1, lineTotal: 300 },
        ],
      });
    } finally {
      live.close();
    }
  });

  it("resumes after a disconnect from Last-Event-ID, missing no update", async () => {
    const basket = await createBasket(url);
    const first = await connectSse(`${url}/baskets/${basket.id}/live`, basket.auth);
    await first.received(1);
    await add(basket, "a");
    const [, seen] = await first.received(2);
    first.close();

    // While it is away, three changes.
    await add(basket, "b");
    await add(basket, "c");
    await add(basket, "a", 4);
    const again = await connectSse(`${url}/baskets/${basket.id}/live`, basket.auth, seen?.id);
    try {
      await again.received(3);
      await add(basket, "d");
      const resumed = states(await again.received(4));
      expect(resumed.map((state) => state.revision)).toEqual([2, 3, 4, 5]);
      expect(resumed.map((state) => state.itemCount)).toEqual([2, 3, 7, 8]);
    } finally {
      again.close();
    }
  });

  it("counts the streams open now in /metrics", async () => {
    const openStreams = async () =>
      Number(/^basket_live_streams (\d+)$/m.exec(await (await fetch(`${url}/metrics`)).text())?.[1]);
    // Streams of the tests before may still be closing: the count settles on what is open.
    await expect.poll(openStreams).toBe(0);
    const basket = await createBasket(url);
    const first = await connectSse(`${url}/baskets/${basket.id}/live`, basket.auth);
    const second = await connectSse(`${url}/baskets/${basket.id}/live`, basket.auth);
    await Promise.all([first.received(1), second.received(1)]);
    expect(await openStreams()).toBe(2);
    first.close();
    await expect.poll(openStreams).toBe(1);
    second.close();
    await expect.poll(openStreams).toBe(0);
  });

  it("needs the basket's token, and answers 404 for a basket that does not exist", async () => {
    const basket = await createBasket(url);
    const live = (id: string, headers: Record<string, string>) =>
      fetch(`${url}/baskets/${id}/live`, { headers: { accept: "text/event-stream", ...headers } });
    expect((await live(basket.id, {})).status).toBe(401);
    expect((await live(uuidv7(), basket.auth)).status).toBe(403);
    const missing = uuidv7();
    const unknown = await live(missing, bearer(testAccess().tokens.issue(missing)));
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ code: "basket_not_found" });
    // A browser's EventSource sends no header: the cookie that the create set opens the stream.
    const cookie = (basket.response.headers["set-cookie"] as string).split(";")[0] as string;
    const byCookie = await connectSse(`${url}/baskets/${basket.id}/live`, { cookie });
    expect(byCookie.status).toBe(200);
    byCookie.close();
    expect((await live(basket.id, { ...basket.auth, "last-event-id": "yesterday" })).status).toBe(400);
  });
});
