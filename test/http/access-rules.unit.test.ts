import Fastify, { type FastifyInstance } from "fastify";
import { v7 as uuidv7 } from "uuid";
import { afterEach, describe, expect, it } from "vitest";
import { AdminTokens } from "../../src/access/admin-tokens.js";
import { BasketTokens } from "../../src/access/basket-tokens.js";
import { type AccessOptions, type Caller, registerAccess } from "../../src/http/access.js";
import { registerProblemHandlers } from "../../src/http/problem.js";
import { adminAuth, bearer, testAccess, testTokenSecret } from "../support/baskets.js";
import { expectProblem } from "../support/problems.js";

describe("the access rules every route is under", () => {
  const apps: FastifyInstance[] = [];
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
  });

  const appWith = async (
    routes: (app: FastifyInstance) => void,
    access: AccessOptions = testAccess(),
    trustProxy = false,
  ) => {
    const app = Fastify({ trustProxy });
    apps.push(app);
    registerProblemHandlers(app);
    await registerAccess(app, access, ["/docs"]);
    routes(app);
    await app.ready();
    return app;
  };
  const whoAsked = (request: { caller: Caller }) => request.caller;

  it("refuses to register a route that does not say who may call it", async () => {
    await expect(appWith((app) => app.get("/baskets/:id/live", async () => "hi"))).rejects.toThrow(
      "Route GET /baskets/:id/live declares no access (config.access: public, basket, basket-holder, admin).",
    );
    await expect(
      appWith((app) => app.get("/commands/:commandId", { config: { access: "basket" } }, async () => "hi")),
    ).rejects.toThrow("has basket access but no :id in its path");
    // Except under the open prefixes (the OpenAPI UI's routes come from a plugin).
    await expect(appWith((app) => app.get("/docs/json", async () => "{}"))).resolves.toBeDefined();
  });

  it("tells a route of basket-holder access whose basket the caller holds", async () => {
    const app = await appWith((app) =>
      app.get("/commands/:commandId", { config: { access: "basket-holder" } }, async (request) =>
        whoAsked(request),
      ),
    );
    const basketId = uuidv7();
    const token = new BasketTokens([testTokenSecret]).issue(basketId);
    const url = `/commands/${uuidv7()}`;
    expect((await app.inject({ url, headers: bearer(token) })).json()).toMatchObject({
      kind: "basket",
      basketId,
      via: "header",
    });
    expect((await app.inject({ url, headers: { cookie: `basket_token=${token}` } })).json()).toMatchObject({
      kind: "basket",
      basketId,
      via: "cookie",
    });
    expect((await app.inject({ url, headers: adminAuth })).json()).toEqual({ kind: "admin" });
    expectProblem(await app.inject({ url }), 401, "missing_token");
    expectProblem(await app.inject({ url, headers: bearer("nope") }), 401, "invalid_token");
  });

  it("says so when no operator credential is configured", async () => {
    const app = await appWith(
      (app) => app.get("/baskets", { config: { access: "admin" } }, async () => "all of them"),
      { ...testAccess(), admin: new AdminTokens([]) },
    );
    const response = await app.inject({ url: "/baskets", headers: adminAuth });
    expectProblem(response, 401, "invalid_token");
    expect(response.json().detail).toBe(
      "No operator credential is configured on this server (ADMIN_TOKENS).",
    );
  });

  it("lets anyone call a public route, and finds no caller there", async () => {
    const app = await appWith((app) =>
      app.post("/baskets", { config: { access: "public" } }, async (request) => whoAsked(request)),
    );
    expect(
      (await app.inject({ method: "POST", url: "/baskets", headers: bearer("whatever") })).json(),
    ).toEqual({
      kind: "anyone",
    });
  });

  it("marks the cookie Secure when the request came over HTTPS, as a trusted proxy says", async () => {
    const granting = (app: FastifyInstance) =>
      app.post("/baskets", { config: { access: "public" } }, async (_request, reply) => ({
        token: reply.grantBasket(uuidv7()),
      }));
    const https = { "x-forwarded-proto": "https" };
    const behindProxy = await appWith(granting, testAccess(), true);
    const direct = await appWith(granting);
    const cookie = async (app: FastifyInstance, headers = {}) =>
      String((await app.inject({ method: "POST", url: "/baskets", headers })).headers["set-cookie"]);
    expect(await cookie(behindProxy, https)).toMatch(/; Secure/);
    expect(await cookie(behindProxy)).not.toMatch(/Secure/);
    // Anyone can send the header; only a proxy the configuration trusts is believed.
    expect(await cookie(direct, https)).not.toMatch(/Secure/);
  });
});
