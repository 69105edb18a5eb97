import { once } from "node:events";
import { connect } from "node:net";
import type { FastifyInstance } from "fastify";
import { pino } from "pino";
import { Registry } from "prom-client";
import { v7 as uuidv7 } from "uuid";
import { afterEach, describe, expect, it } from "vitest";
import type { CommandEnvelope, CommandOutcome } from "../../src/commands/command.js";
import { InMemoryIdempotencyClaims } from "../../src/commands/idempotency-claims.js";
import { buildHttpApp } from "../../src/http/app.js";
import { IdempotencyKeys } from "../../src/http/idempotency.js";
import { defaultHttpLimits, type HttpLimits } from "../../src/http/limits.js";
import { bearer, testAccess, testTokenSecret } from "../support/baskets.js";
import { expectProblem } from "../support/problems.js";

const unlimited: HttpLimits = {
  ...defaultHttpLimits,
  rateLimit: { max: 0, windowMs: 1_000 },
  maxInFlight: 0,
  pressure: { ...defaultHttpLimits.pressure, maxEventLoopDelayMs: 0 },
};

/** A command bus that answers "no such basket" — when the test lets it. */
function gatedBus() {
  const waiting: (() => void)[] = [];
  let open = true;
  return {
    sent: [] as CommandEnvelope[],
    get waiting() {
      return waiting.length;
    },
    close() {
      open = false;
    },
    release() {
      open = true;
      for (const go of waiting.splice(0)) go();
    },
    async send(envelope: CommandEnvelope): Promise<CommandOutcome> {
      this.sent.push(envelope);
      if (!open) await new Promise<void>((resolve) => waiting.push(resolve));
      return { ok: false, kind: "not_found", code: "basket_not_found", message: "No such basket." };
    },
  };
}

describe("the limits of one API process", () => {
  const apps: FastifyInstance[] = [];
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
  });
  const access = testAccess();
  const start = async (limits: Partial<HttpLimits>, bus = gatedBus()) => {
    const app = await buildHttpApp({
      logger: pino({ level: "silent" }),
      version: "0.0.0-test",
      commands: {
        bus,
        keys: new IdempotencyKeys(testTokenSecret),
        claims: new InMemoryIdempotencyClaims(10_000),
      },
      access,
      metrics: new Registry(),
      limits: { ...unlimited, ...limits },
    });
    apps.push(app);
    return { app, bus };
  };
  const basketId = uuidv7();
  const auth = bearer(access.tokens.issue(basketId));
  const checkout = (app: FastifyInstance, remoteAddress = "127.0.0.1") =>
    app.inject({ method: "POST", url: `/baskets/${basketId}/checkout`, headers: auth, remoteAddress });

  it("refuses a body over the limit with 413, before a command is sent", async () => {
    const { app, bus } = await start({ bodyLimitBytes: 2_048 });
    const response = await app.inject({
      method: "POST",
      url: `/baskets/${basketId}/items`,
      headers: { ...auth, "content-type": "application/json" },
      payload: JSON.stringify({ sku: "x".repeat(3_000), quantity: 1 }),
    });
    expectProblem(response, 413, "body_too_large");
    expect(bus.sent).toEqual([]);
  });

  it("keeps the 64 KiB body limit by default", async () => {
    const { app } = await start({});
    const body = (size: number) => JSON.stringify({ visitorId: "v", padding: "x".repeat(size) });
    const over = await app.inject({
      method: "POST",
      url: "/baskets",
      headers: { "content-type": "application/json" },
      payload: body(64 * 1024),
    });
    expectProblem(over, 413, "body_too_large");
    const under = await app.inject({
      method: "POST",
      url: "/baskets",
      headers: { "content-type": "application/json" },
      payload: body(60 * 1024),
    });
    expectProblem(under, 400, "invalid_request"); // read, and refused for its unknown field
  });

  it("rate-limits each client with 429 and Retry-After, and never /metrics", async () => {
    const { app } = await start({ rateLimit: { max: 3, windowMs: 60_000 } });
    for (let i = 0; i < 3; i++) expect((await checkout(app)).statusCode).toBe(404);
    const limited = await checkout(app);
    expectProblem(limited, 429, "rate_limited");
    expect(Number(limited.headers["retry-after"])).toBeGreaterThan(0);
    // Unknown routes count too (guessing URLs), and so do refused tokens (guessing tokens).
    expectProblem(await app.inject({ url: "/nowhere" }), 429, "rate_limited");
    expect((await app.inject({ url: "/metrics" })).statusCode).toBe(200);
    expect((await checkout(app, "10.1.2.3")).statusCode).toBe(404); // another client
  });

  it("answers 503 overloaded at once beyond the requests in flight it takes, and takes more as they end", async () => {
    const { app, bus } = await start({ maxInFlight: 2 });
    bus.close();
    const held = [checkout(app), checkout(app)];
    await expect.poll(() => bus.waiting).toBe(2);
    const started = Date.now();
    const shed = await checkout(app);
    expect(Date.now() - started).toBeLessThan(500);
    expectProblem(shed, 503, "overloaded");
    expect(shed.headers["retry-after"]).toBe("1");
    expect((await app.inject({ url: "/metrics" })).statusCode).toBe(200);
    bus.release();
    for (const response of await Promise.all(held)) expect(response.statusCode).toBe(404);
    expect((await checkout(app)).statusCode).toBe(404);
  });

  it("stops counting a request whose client went away", async () => {
    const { app, bus } = await start({ maxInFlight: 1 });
    const url = await app.listen({ port: 0, host: "127.0.0.1" });
    const post = (signal?: AbortSignal) =>
      fetch(`${url}/baskets/${basketId}/checkout`, {
        method: "POST",
        headers: auth,
        ...(signal ? { signal } : {}),
      });
    bus.close();
    const gone = new AbortController();
    const abandoned = post(gone.signal).catch(() => "aborted");
    await expect.poll(() => bus.waiting).toBe(1);
    gone.abort();
    expect(await abandoned).toBe("aborted");
    // Its command still waits for a worker, yet the next client is taken (once the server has
    // seen the connection close): it reaches the bus instead of being shed.
    let next: Promise<Response> | undefined;
    for (let attempt = 0; attempt < 50 && bus.waiting < 2; attempt++) {
      next = post();
      const shed = await Promise.race([next.then((r) => r.status), new Promise((r) => setTimeout(r, 100))]);
      if (shed !== undefined) expect(shed).toBe(503);
    }
    expect(bus.waiting).toBe(2);
    bus.release();
    expect((await next)?.status).toBe(404);
  });

  it("sheds load with 503 and Retry-After while the event loop lags", async () => {
    const { app } = await start({
      pressure: {
        ...unlimited.pressure,
        maxEventLoopDelayMs: 30,
        retryAfterSeconds: 7,
        sampleIntervalMs: 1_000,
      },
    });
    // A stall, as a long synchronous job makes one; the next measurement, due meanwhile, sees it
    // and holds until the one after.
    const stalled = async () => {
      const until = Date.now() + 500;
      while (Date.now() < until);
      await new Promise((resolve) => setTimeout(resolve, 20));
      return checkout(app);
    };
    let shed = await stalled();
    for (let attempt = 0; shed.statusCode !== 503 && attempt < 10; attempt++) shed = await stalled();
    expectProblem(shed, 503, "overloaded");
    expect(shed.headers["retry-after"]).toBe("7");
    expect(shed.json().detail).toMatch(/eventLoopDelay/);
    expect((await app.inject({ url: "/metrics" })).statusCode).toBe(200); // how one sees it
    expectProblem(await checkout(app), 503, "overloaded"); // still, until the next measurement
    await expect.poll(async () => (await checkout(app)).statusCode, { timeout: 10_000 }).toBe(404);
  });

  it("answers problems for a URL that does not decode and a path part too long to be one", async () => {
    const { app } = await start({});
    expectProblem(await app.inject({ url: "/baskets/%E0%A4%A/items" }), 400, "invalid_request");
    expectProblem(await app.inject({ url: `/baskets/${"a".repeat(1_000)}` }), 404, "route_not_found");
    // The longest sku, every character four bytes of UTF-8, still fits.
    const sku = encodeURIComponent("😀".repeat(32));
    const response = await app.inject({
      method: "DELETE",
      url: `/baskets/${basketId}/items/${sku}`,
      headers: auth,
    });
    expectProblem(response, 404, "basket_not_found");
  });

  describe("on the socket", () => {
    const raw = async (app: FastifyInstance, bytes: string) => {
      await app.listen({ port: 0, host: "127.0.0.1" });
      const { port } = app.server.address() as { port: number };
      const socket = connect(port, "127.0.0.1");
      await once(socket, "connect");
      let received = "";
      socket.on("data", (chunk) => {
        received += chunk.toString();
      });
      socket.write(bytes);
      const started = Date.now();
      await once(socket, "close");
      return { received, closedAfterMs: Date.now() - started };
    };

    it("closes a connection that goes quiet in the middle of a request", async () => {
      const { app } = await start({ connectionTimeoutMs: 300 });
      const { closedAfterMs } = await raw(app, "POST /baskets HTTP/1.1\r\nHost: shop\r\n");
      expect(closedAfterMs).toBeGreaterThanOrEqual(250);
      expect(closedAfterMs).toBeLessThan(3_000);
    });

    it("answers a request it cannot parse with a problem", async () => {
      const { app } = await start({});
      const { received } = await raw(app, "NOT HTTP AT ALL\r\n\r\n");
      expect(received).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
      expect(received).toContain("Content-Type: application/problem+json");
      expect(JSON.parse(received.split("\r\n\r\n")[1] as string)).toMatchObject({
        status: 400,
        code: "malformed_request",
      });
    });
  });
});
