import { v7 as uuidv7 } from "uuid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BasketTokens } from "../../src/access/basket-tokens.js";
import { adminAuth, bearer, type CreatedBasket, createBasket } from "../support/baskets.js";
import { startCommandCluster } from "../support/command-cluster.js";
import { expectProblem } from "../support/problems.js";

type Method = "GET" | "POST" | "PUT" | "DELETE";

/** Every route on one basket, with a body that would succeed on an open basket holding "tea". */
const basketRoutes: { method: Method; path: string; body?: object }[] = [
  { method: "POST", path: "/items", body: { sku: "mug", quantity: 1 } },
  { method: "PUT", path: "/items/tea", body: { quantity: 3 } },
  { method: "DELETE", path: "/items/tea" },
  { method: "DELETE", path: "/items" },
  { method: "POST", path: "/checkout" },
  { method: "GET", path: "" },
];
const operatorRoutes = ["/baskets?visitorId=v", "/baskets/abandoned", "/products/popular"];

describe("access to baskets", () => {
  let cluster: Awaited<ReturnType<typeof startCommandCluster>>;
  let mine: CreatedBasket;
  let theirs: CreatedBasket;
  beforeAll(async () => {
    cluster = await startCommandCluster({ workers: 1, readSide: { waitTimeoutMs: 2_000 } });
    await cluster.seedCatalog({ tea: 450, mug: 900, pot: 3000 });
    mine = await createBasket(cluster.app, { visitorId: "v" });
    theirs = await createBasket(cluster.app);
    for (const basket of [mine, theirs]) {
      const added = await call("POST", `/baskets/${basket.id}/items`, basket.auth, {
        sku: "tea",
        quantity: 1,
      });
      expect(added.statusCode).toBe(200);
    }
  });
  afterAll(() => cluster?.stop());

  const call = (method: Method, url: string, headers: Record<string, string>, body?: object) =>
    cluster.app.inject({ method, url, headers, ...(body ? { payload: body } : {}) });
  const events = () => cluster.countEvents();

  // A token this service's secret never signed: the right shape, another key.
  const forged = new BasketTokens(["some-other-service-secret-0123456789abcdef"]);
  const badCredentials: [string, (basketId: string) => Record<string, string>][] = [
    ["no token", () => ({})],
    ["a token that is not one", () => bearer("let-me-in")],
    ["a forged token for the very basket", (basketId) => bearer(forged.issue(basketId))],
    ["a scheme other than Bearer", () => ({ authorization: "Basic YWRtaW46YWRtaW4=" })],
    ["a cookie that is not a token", () => ({ cookie: "basket_token=let-me-in" })],
    ["another basket's token", () => theirs.auth],
    ["another basket's cookie", () => ({ cookie: `basket_token=${theirs.token}` })],
  ];
  const expected: Record<string, [number, string]> = {
    "no token": [401, "missing_token"],
    "another basket's token": [403, "forbidden"],
    "another basket's cookie": [403, "forbidden"],
  };

  it("answers a created basket's token, and sets it as a cookie for that basket's routes only", () => {
    expect(mine.token).toMatch(new RegExp(`^${mine.id}\\.[0-9a-z]{1,11}\\.[A-Za-z0-9_-]{43}$`));
    const cookie = String(mine.response.headers["set-cookie"]);
    expect(cookie.split("; ").sort()).toEqual(
      [
        `basket_token=${mine.token}`,
        `Path=/baskets/${mine.id}`,
        "HttpOnly",
        "SameSite=Strict",
        "Max-Age=3600",
      ].sort(),
    );
    // Plain HTTP here: a Secure cookie would never come back.
    expect(cookie).not.toMatch(/Secure/);
  });

  describe.each(basketRoutes)("$method /baskets/:id$path", ({ method, path, body }) => {
    it.each(badCredentials)("refuses %s, and writes nothing", async (name, credentials) => {
      const before = await events();
      const response = await call(method, `/baskets/${mine.id}${path}`, credentials(mine.id), body);
      const [status, code] = expected[name] ?? [401, "invalid_token"];
      expectProblem(response, status, code);
      expect(response.headers["www-authenticate"]).toMatch(/^Bearer realm="basket"/);
      expect(await events()).toBe(before);
    });

    it("answers the same for a basket that does not exist, whatever the credential", async () => {
      const unknown = uuidv7();
      for (const [, credentials] of badCredentials) {
        const answer = (id: string) => call(method, `/baskets/${id}${path}`, credentials(id), body);
        const [existing, missing] = [await answer(mine.id), await answer(unknown)];
        expect(missing.statusCode).toBe(existing.statusCode);
        expect(missing.headers["www-authenticate"]).toBe(existing.headers["www-authenticate"]);
        expect(missing.body).toBe(existing.body);
      }
    });

    it("is checked before the body and the path are validated", async () => {
      const response = await call(
        method,
        `/baskets/${mine.id}${path}`,
        {},
        body ? { nonsense: true } : undefined,
      );
      expectProblem(response, 401, "missing_token");
      expectProblem(await call(method, `/baskets/not-a-uuid${path}`, mine.auth, body), 403, "forbidden");
    });
  });

  it("opens the basket's routes with its token, as a header or as the cookie", async () => {
    const viaHeader = await call("GET", `/baskets/${mine.id}?minRevision=1`, mine.auth);
    expect(viaHeader.statusCode).toBe(200);
    expect(viaHeader.json()).toMatchObject({ id: mine.id, lines: [{ sku: "tea" }] });
    const viaCookie = await call(
      "POST",
      `/baskets/${mine.id}/items`,
      { cookie: `basket_token=${mine.token}` },
      { sku: "pot", quantity: 1 },
    );
    expect(viaCookie.statusCode).toBe(200);
    expect(viaCookie.json().lines.map((line: { sku: string }) => line.sku)).toEqual(["tea", "pot"]);
    // The header, when there is one, is what counts.
    const both = await call("GET", `/baskets/${mine.id}`, {
      ...theirs.auth,
      cookie: `basket_token=${mine.token}`,
    });
    expectProblem(both, 403, "forbidden");
  });

  it("keeps the operator's routes to the operator", async () => {
    for (const url of operatorRoutes) {
      expectProblem(await call("GET", url, {}), 401, "missing_token");
      expectProblem(await call("GET", url, bearer("guess")), 401, "invalid_token");
      expectProblem(await call("GET", url, mine.auth), 403, "forbidden");
      // The operator's credential is a header's, never a cookie's.
      expectProblem(
        await call("GET", url, { cookie: `basket_token=${adminAuth.authorization.slice(7)}` }),
        401,
        "invalid_token",
      );
      expect((await call("GET", url, adminAuth)).statusCode).toBe(200);
    }
  });

  it("lets the operator into every basket", async () => {
    const response = await call("GET", `/baskets/${theirs.id}?minRevision=1`, adminAuth);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ id: theirs.id });
  });

  it("answers a create retried with its Idempotency-Key with the same token, and wants an unguessable key", async () => {
    const key = { "idempotency-key": uuidv7() };
    const first = await createBasket(cluster.app, {}, key);
    const retried = await createBasket(cluster.app, {}, key);
    expect(retried).toMatchObject({ id: first.id, token: first.token });
    expect(retried.response.headers["idempotent-replayed"]).toBe("true");
    const short = await call("POST", "/baskets", { "idempotency-key": "create-1" });
    expectProblem(short, 400, "invalid_request");
  });
});
