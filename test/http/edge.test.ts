import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminTokens } from "../../src/access/admin-tokens.js";
import { BasketTokens } from "../../src/access/basket-tokens.js";
import { defaultHttpLimits } from "../../src/http/limits.js";
import { adminAuth, bearer, createBasket, testAdminToken, testTokenSecret } from "../support/baskets.js";
import { startCommandCluster } from "../support/command-cluster.js";
import { expectProblem } from "../support/problems.js";

const json = { "content-type": "application/json" };
const cookieOf = (setCookie: unknown) =>
  String(Array.isArray(setCookie) ? setCookie[0] : setCookie).split(";")[0];

describe("the browser-facing edge", () => {
  let cluster: Awaited<ReturnType<typeof startCommandCluster>>;
  beforeAll(async () => {
    cluster = await startCommandCluster({ workers: 1, readSide: { waitTimeoutMs: 5_000 } });
    await cluster.seedCatalog({ TEA: 450 });
  });
  afterAll(() => cluster?.stop());

  it("sends strict security headers on every answer, and no-store on one that carries a token", async () => {
    for (const url of ["/", "/docs", "/products", "/no-such-route"]) {
      const answer = await cluster.app.inject({ method: "GET", url });
      const csp = String(answer.headers["content-security-policy"]);
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toMatch(/script-src[^;]*unsafe-inline/);
      expect(csp).toContain("frame-ancestors 'none'");
      expect(answer.headers["x-content-type-options"]).toBe("nosniff");
      expect(answer.headers["referrer-policy"]).toBe("no-referrer");
    }
    const created = await createBasket(cluster.app);
    expect(created.response.headers["cache-control"]).toBe("no-store");
  });

  it("gives a page that asks the token in its cookie only (Prefer: token=cookie)", async () => {
    const answer = await cluster.app.inject({
      method: "POST",
      url: "/baskets",
      headers: { ...json, prefer: "token=cookie" },
      payload: "{}",
    });
    expect(answer.statusCode).toBe(201);
    expect(answer.json()).not.toHaveProperty("token");
    expect(answer.headers["preference-applied"]).toBe("token=cookie");
    expect(cookieOf(answer.headers["set-cookie"])).toMatch(/^basket_token=/);
  });

  describe("a write with the basket's cookie (CSRF)", () => {
    const write = async (headers: Record<string, string>, payload?: string) => {
      const created = await createBasket(cluster.app);
      const cookie = cookieOf(created.response.headers["set-cookie"]);
      await cluster.app.inject({
        method: "POST",
        url: `/baskets/${created.id}/items`,
        headers: { ...json, ...created.auth },
        payload: JSON.stringify({ sku: "TEA", quantity: 1 }),
      });
      const answer = await cluster.app.inject({
        method: "POST",
        url: `/baskets/${created.id}/checkout`,
        headers: { cookie, host: "shop.example", ...headers },
        ...(payload === undefined ? {} : { payload }),
      });
      const events = await cluster.store.readStream(`basket-${created.id}`);
      return { answer, checkedOut: events.some((event) => event.type === "BasketCheckedOut") };
    };

    it("refuses one from another site, whichever header says so, and changes nothing", async () => {
      for (const headers of [
        { origin: "https://evil.example" },
        { "sec-fetch-site": "cross-site" },
        { "sec-fetch-site": "same-site" },
        { origin: "http://shop.example.evil.example" },
      ]) {
        const { answer, checkedOut } = await write(headers);
        expectProblem(answer, 403, "cross_site_request");
        expect(checkedOut).toBe(false);
      }
    });

    it("refuses a form's text/plain post from anywhere (415), and changes nothing", async () => {
      const { answer, checkedOut } = await write({ "content-type": "text/plain" }, "x=1");
      expectProblem(answer, 415, "unsupported_media_type");
      expect(checkedOut).toBe(false);
    });

    it("takes one from this origin, and asks nothing of a client that sends the token itself", async () => {
      expect(
        (await write({ origin: "http://shop.example", "sec-fetch-site": "same-origin" })).checkedOut,
      ).toBe(true);
      expect((await write({})).checkedOut).toBe(true);
      const created = await createBasket(cluster.app);
      await cluster.app.inject({
        method: "POST",
        url: `/baskets/${created.id}/items`,
        headers: { ...json, ...created.auth, origin: "https://elsewhere.example" },
        payload: JSON.stringify({ sku: "TEA", quantity: 1 }),
      });
      expect((await cluster.store.readStream(`basket-${created.id}`)).length).toBe(2);
    });
  });

  it("no longer lists open baskets that stayed empty, though their own answer stays", async () => {
    const empty = await createBasket(cluster.app);
    const full = await createBasket(cluster.app);
    await cluster.app.inject({
      method: "POST",
      url: `/baskets/${full.id}/items`,
      headers: { ...json, ...full.auth },
      payload: JSON.stringify({ sku: "TEA", quantity: 1 }),
    });
    await expect
      .poll(
        async () =>
          (
            await cluster.app.inject({
              method: "GET",
              url: `/baskets/${full.id}?minRevision=1`,
              headers: full.auth,
            })
          ).statusCode,
      )
      .toBe(200);
    const listed = async () => {
      const page = await cluster.app.inject({ method: "GET", url: "/baskets?limit=100", headers: adminAuth });
      return (page.json() as { items: { id: string }[] }).items.map((item) => item.id);
    };
    // The cluster lists every basket younger than a day: push the empty one back in time.
    await cluster.database.db
      .updateTable("basket_view")
      .set({ updated_at: new Date(Date.now() - 2 * 86_400_000) })
      .where("id", "in", [empty.id, full.id])
      .execute();
    const ids = await listed();
    expect(ids).toContain(full.id);
    expect(ids).not.toContain(empty.id);
    expect(
      (await cluster.app.inject({ method: "GET", url: `/baskets/${empty.id}`, headers: empty.auth }))
        .statusCode,
    ).toBe(200);
  });
});

describe("basket tokens", () => {
  const day = 86_400_000;
  it("expire, and are due for renewal past half their life", () => {
    let now = Date.UTC(2026, 0, 1);
    const tokens = new BasketTokens([testTokenSecret], 10 * 86_400, () => now);
    const token = tokens.issue("0192f0c4-0000-7000-8000-000000000001");
    expect(tokens.verify(token)?.basketId).toBe("0192f0c4-0000-7000-8000-000000000001");
    expect(tokens.dueForRenewal(tokens.verify(token) as never)).toBe(false);
    now += 6 * day;
    expect(tokens.dueForRenewal(tokens.verify(token) as never)).toBe(true);
    now += 4 * day;
    expect(tokens.verify(token)).toBeUndefined();
  });

  it("are renewed on use over HTTP: the answer carries a new token and cookie; an expired one is refused", async () => {
    let now = Date.now();
    {
      // An app whose clock the test moves: same secret, a ten-day lifetime.
      const tokens = new BasketTokens([testTokenSecret], 10 * 86_400, () => now);
      const { buildHttpApp } = await import("../../src/http/app.js");
      const { pino } = await import("pino");
      const app = await buildHttpApp({
        logger: pino({ level: "silent" }),
        version: "test",
        queries: undefined,
        access: { tokens, admin: new AdminTokens([testAdminToken]), cookieMaxAgeSeconds: 3600 },
        limits: { ...defaultHttpLimits, rateLimit: { max: 0, windowMs: 1_000 } },
        live: undefined,
        commands: undefined,
      });
      app.get("/baskets/:id/probe", { config: { access: "basket" } }, async () => ({ ok: true }));
      const id = "0192f0c4-0000-7000-8000-000000000002";
      const token = tokens.issue(id);
      const fresh = await app.inject({ method: "GET", url: `/baskets/${id}/probe`, headers: bearer(token) });
      expect(fresh.headers["basket-token"]).toBeUndefined();
      now += 6 * day;
      const renewed = await app.inject({
        method: "GET",
        url: `/baskets/${id}/probe`,
        headers: bearer(token),
      });
      expect(renewed.statusCode).toBe(200);
      const next = String(renewed.headers["basket-token"]);
      expect(next).not.toBe(token);
      expect(renewed.headers["cache-control"]).toBe("no-store");
      expect(cookieOf(renewed.headers["set-cookie"])).toBe(`basket_token=${next}`);
      now += 5 * day;
      expectProblem(
        await app.inject({ method: "GET", url: `/baskets/${id}/probe`, headers: bearer(token) }),
        401,
        "invalid_token",
      );
      expect(
        (await app.inject({ method: "GET", url: `/baskets/${id}/probe`, headers: bearer(next) })).statusCode,
      ).toBe(200);
      await app.close();
    }
  });
});
