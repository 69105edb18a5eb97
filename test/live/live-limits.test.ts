import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/config.js";
import { type Running, serve } from "../../src/serve/serve.js";
import { createBasket, testTokenSecret } from "../support/baskets.js";
import { connectSse, type SseConnection } from "../support/sse.js";

/**
 * Live streams stay open, so they are counted apart from the requests in flight: capped per
 * basket and per client, and a client far behind is sent where the basket is, not its history.
 */
describe("live basket streams under pressure", () => {
  let running: Running;
  let url: string;
  const open: SseConnection[] = [];
  beforeAll(async () => {
    const env = {
      PGLITE_DATA_DIR: "memory://",
      BASKET_TOKEN_SECRETS: testTokenSecret,
      PORT: "0",
      RATE_LIMIT_MAX: "0",
      CREATE_RATE_LIMIT_MAX: "0",
      LIVE_MAX_STREAMS_PER_BASKET: "2",
      LIVE_MAX_STREAMS_PER_CLIENT: "3",
      LIVE_MAX_REPLAY_EVENTS: "3",
    };
    running = await serve("all", loadConfig(env), pino({ level: "silent" }));
    url = running.url;
  }, 60_000);
  afterAll(async () => {
    for (const connection of open) connection.close();
    await running?.stop();
  });

  const live = async (basket: { id: string; auth: Record<string, string> }, lastEventId?: string) => {
    const connection = await connectSse(`${url}/baskets/${basket.id}/live`, basket.auth, lastEventId);
    open.push(connection);
    return connection;
  };
  const add = (basket: { id: string; auth: Record<string, string> }, sku: string) =>
    fetch(`${url}/baskets/${basket.id}/items`, {
      method: "POST",
      headers: { "content-type": "application/json", ...basket.auth },
      body: JSON.stringify({ sku, quantity: 1 }),
    });
  const metric = async (line: RegExp) =>
    Number(line.exec(await (await fetch(`${url}/metrics`)).text())?.[1] ?? Number.NaN);

  it("refuses a third stream on one basket and a fourth from one client (429), counting them", async () => {
    const [one, two] = [await createBasket(url), await createBasket(url)];
    const first = await live(one);
    await live(one);
    const third = await live(one);
    expect(third.status).toBe(429);
    expect(third.headers.get("retry-after")).toBe("10");
    await first.received(1);
    await live(two);
    const fourth = await live(two);
    expect(fourth.status).toBe(429);
    expect(await metric(/^basket_live_streams_refused_total\{limit="basket"\} (\d+)$/m)).toBe(1);
    expect(await metric(/^basket_live_streams_refused_total\{limit="client"\} (\d+)$/m)).toBe(1);
    expect(await metric(/^basket_live_streams (\d+)$/m)).toBe(3);
    // A stream that closes makes room again.
    first.close();
    await expect.poll(() => metric(/^basket_live_streams (\d+)$/m)).toBe(2);
    expect((await live(one)).status).toBe(200);
    for (const connection of open.splice(0)) connection.close();
    await expect.poll(() => metric(/^basket_live_streams (\d+)$/m)).toBe(0);
  });

  it("sends a client a little behind each state it missed, and one far behind one reset", async () => {
    const basket = await createBasket(url);
    for (const sku of ["TEA-001", "TEA-002", "MUG-001", "POT-001", "TEA-001"])
      expect((await add(basket, sku)).status).toBe(200);
    // Revision 5 now. Two behind: each state since.
    const near = await live(basket, "3");
    const states = await near.received(2);
    expect(states.map((event) => [event.event, event.id])).toEqual([
      ["basket", "4"],
      ["basket", "5"],
    ]);
    // Five behind, past the limit of three: one reset, the basket as it is now.
    const far = await live(basket, "0");
    const [reset] = await far.received(1);
    expect(reset).toMatchObject({ event: "reset", id: "5" });
    expect(JSON.parse(reset?.data ?? "{}")).toMatchObject({ revision: 5, itemCount: 5 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(far.events).toHaveLength(1);
    // And then the live ones, as for anyone.
    await add(basket, "MUG-001");
    expect((await far.received(2))[1]).toMatchObject({ event: "basket", id: "6" });
    for (const connection of open.splice(0)) connection.close();
  });
});
