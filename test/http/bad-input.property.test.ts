import fc from "fast-check";
import type { InjectOptions } from "fastify";
import { v7 as uuidv7 } from "uuid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BasketTokens } from "../../src/access/basket-tokens.js";
import { adminAuth, type CreatedBasket, createBasket, testAccess } from "../support/baskets.js";
import { startCommandCluster } from "../support/command-cluster.js";
import { hostileJson, hostileText, percentEncoded } from "../support/hostile-input.js";

type Method = "GET" | "POST" | "PUT" | "DELETE";
interface Route {
  method: Method;
  /** In OpenAPI's form: /baskets/{id}/items/{sku}. */
  path: string;
  /** Who may call it, from the security the OpenAPI document gives it. */
  access: "public" | "basket" | "admin";
}

/** A body that would succeed, to be broken in one place. */
const validBodies: Record<string, Record<string, unknown>> = {
  "POST /baskets": { visitorId: "v", currency: "EUR" },
  "POST /baskets/{id}/items": { sku: "tea", quantity: 1 },
  "PUT /baskets/{id}/items/{sku}": { quantity: 2 },
  // The operator's: it may relist "tea" after a run delisted it (DELETE /products/{sku}).
  "PUT /products/{sku}": { name: "Product tea", prices: { EUR: 250 } },
};

/**
 * Arbitrary requests — paths, query strings, headers, bodies, ids and tokens — at every route
 * the API documents, through the real command path (HTTP → NATS → worker → PostgreSQL) and the
 * read side: never a 500, every error a problem with a code, and no event written by anything
 * that was not a command its caller may give and the API accepted.
 */
describe("the API given arbitrary requests", () => {
  const runs = Number(process.env.FUZZ_RUNS ?? 300);
  let cluster: Awaited<ReturnType<typeof startCommandCluster>>;
  let routes: Route[];
  let baskets: CreatedBasket[];
  beforeAll(async () => {
    cluster = await startCommandCluster({ workers: 1, readSide: { waitTimeoutMs: 50 } });
    await cluster.seedCatalog(["tea"]);
    const document = (await cluster.app.inject({ url: "/docs/json" })).json() as {
      paths: Record<string, Record<string, { security?: Record<string, unknown>[] }>>;
    };
    routes = Object.entries(document.paths).flatMap(([path, operations]) =>
      Object.entries(operations).map(([method, operation]) => {
        const schemes = (operation.security ?? []).flatMap(Object.keys);
        const access = schemes.includes("basketToken")
          ? "basket"
          : schemes.includes("adminToken")
            ? "admin"
            : "public";
        return { method: method.toUpperCase() as Method, path, access } as Route;
      }),
    );
    routes.push({ method: "GET", path: "/metrics", access: "public" });
    baskets = [];
    for (let i = 0; i < 3; i++) {
      const basket = await createBasket(cluster.app, { visitorId: `visitor-${i}` });
      await cluster.app.inject({
        method: "POST",
        url: `/baskets/${basket.id}/items`,
        headers: basket.auth,
        payload: validBodies["POST /baskets/{id}/items"] as object,
      });
      baskets.push(basket);
    }
  });
  afterAll(() => cluster?.stop());

  it("documents every route it fuzzes, and they include the commands and queries", () => {
    expect(routes.map((route) => `${route.method} ${route.path}`)).toEqual(
      expect.arrayContaining([
        "POST /baskets",
        "POST /baskets/{id}/items",
        "PUT /baskets/{id}/items/{sku}",
        "DELETE /baskets/{id}/items/{sku}",
        "DELETE /baskets/{id}/items",
        "POST /baskets/{id}/checkout",
        "GET /baskets/{id}",
        "GET /baskets",
        "GET /baskets/abandoned",
        "GET /products/popular",
      ]),
    );
  });

  const printable = fc.string({
    unit: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)),
    maxLength: 60,
  });
  const hostileHeaderName = "x-fuzz";
  const forged = new BasketTokens(["not-this-services-secret-0123456789abcdef"]);
  const real = testAccess().tokens;

  type Credential =
    | { kind: "none" | "admin" | "malformed" | "own" | "forged" | "own-cookie" }
    | { kind: "basket" | "basket-cookie"; index: number }
    | { kind: "garbage" | "garbage-cookie"; text: string };
  /** Who the caller is when the credential is what a fuzz run breaks. */
  const anyCredential: fc.Arbitrary<Credential> = fc.oneof(
    fc.constantFrom<Credential>(
      { kind: "none" },
      { kind: "admin" },
      { kind: "malformed" },
      { kind: "own" },
      { kind: "own-cookie" },
      { kind: "forged" },
    ),
    fc.record({
      kind: fc.constantFrom("basket" as const, "basket-cookie" as const),
      index: fc.integer({ min: 0, max: 2 }),
    }),
    fc.record({ kind: fc.constantFrom("garbage" as const, "garbage-cookie" as const), text: printable }),
  );
  /** The credential that opens the route. */
  const rightCredential = (route: Route): Credential =>
    route.access === "admin"
      ? { kind: "admin" }
      : route.access === "basket"
        ? { kind: "own" }
        : { kind: "none" };

  /** The route's valid body broken in one place — a field replaced, dropped or added — or anything at all. */
  const brokenBody = (valid: Record<string, unknown> | undefined) => {
    const fields = Object.keys(valid ?? {});
    const replaced = (value: fc.Arbitrary<unknown>) =>
      fc
        .record({ field: fc.constantFrom(...fields), value })
        .map(({ field, value }) => JSON.stringify({ ...valid, [field]: value }));
    const structured = valid
      ? [
          replaced(hostileText),
          replaced(hostileJson),
          fc
            .constantFrom(...fields)
            .map((field) =>
              JSON.stringify(Object.fromEntries(Object.entries(valid).filter(([name]) => name !== field))),
            ),
          fc
            .record({ field: hostileText, value: hostileJson })
            .map(({ field, value }) => JSON.stringify({ ...valid, [field]: value })),
        ]
      : [];
    return fc.oneof(
      ...structured,
      hostileJson.map((value) => JSON.stringify(value)),
      hostileText,
      fc.uint8Array({ maxLength: 100 }).map((bytes) => Buffer.from(bytes)),
    );
  };

  const queryKeys = ["minRevision", "visitorId", "status", "limit", "cursor", "olderThan"];
  const query = fc.array(
    fc.tuple(
      fc.oneof(fc.constantFrom(...queryKeys), hostileText),
      fc.oneof(
        hostileText,
        fc.integer().map(String),
        fc.constantFrom("open", "checked_out", "PT30M", "0", "100"),
      ),
    ),
    { minLength: 1, maxLength: 3 },
  );

  const headers = fc.record(
    {
      "content-type": fc.constantFrom(
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/json; charset=utf-16",
        "application/json; charset=utf-8",
        "nonsense",
      ),
      "idempotency-key": fc.oneof(printable, fc.uuid()),
      "if-match": fc.oneof(
        printable,
        fc.nat({ max: 20 }).map((n) => `"${n}"`),
      ),
      accept: fc.constantFrom("text/html", "*/*", "application/problem+json;q=0"),
      "x-forwarded-for": printable,
      prefer: fc.oneof(
        fc.constantFrom("respond-async", "respond-async, wait=1", "return=minimal"),
        printable,
      ),
      [hostileHeaderName]: printable,
    },
    { requiredKeys: [] },
  );

  /**
   * What a fuzz run breaks in a request that would otherwise succeed: so that most runs get past
   * the token check and the validation in front, to whatever lies behind the one thing broken.
   */
  const parts = ["id", "sku", "query", "headers", "credential", "body", "path", "method"] as const;

  const request = fc.integer({ min: 0, max: 1_000 }).chain((pick) => {
    const route = routes[pick % routes.length] as Route;
    const key = `${route.method} ${route.path}`;
    return fc.record({
      route: fc.constant(route),
      broken: fc.uniqueArray(fc.constantFrom(...parts), { minLength: 1, maxLength: 2 }),
      basket: fc.integer({ min: 0, max: 2 }),
      // A quarter of the commands go through the JetStream work queue instead (Prefer: respond-async).
      queued: fc.boolean().chain((queued) => (queued ? fc.boolean() : fc.constant(false))),
      id: fc.oneof(fc.constant("unknown"), hostileText),
      sku: hostileText,
      query,
      headers,
      credential: anyCredential,
      body: brokenBody(validBodies[key]),
      path: fc.oneof(
        fc.webPath().map((webPath) => `/${webPath.replace(/^\/+/, "")}`),
        hostileText.map((text) => `/baskets/${percentEncoded(text)}`),
      ),
      method: fc.constantFrom<Method>("GET", "POST", "PUT", "DELETE"),
    });
  });

  const events = () => cluster.countEvents();

  /** The status of a queued command once a worker has finished with it (or 10 s have passed). */
  const settled = async (commandId: string) => {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const answer = await cluster.app.inject({
        url: `/commands/${encodeURIComponent(commandId)}`,
        headers: adminAuth,
      });
      const status = answer.json() as { status: string; problem?: { code: string } };
      if (status.status === "succeeded" || status.status === "failed" || Date.now() > deadline) return status;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };

  /** Never a 500; every error a problem with a code; the store, healthy, never the one refusing. */
  const expectAnswerOrProblem = (response: {
    statusCode: number;
    headers: Record<string, unknown>;
    body: string;
    json(): unknown;
  }) => {
    const status = response.statusCode;
    expect(status, response.body).not.toBe(500);
    if (status >= 500) expect([503, 504]).toContain(status);
    if (status < 400) return;
    expect(response.headers["content-type"], response.body).toMatch(/^application\/problem\+json/);
    const problem = response.json() as { code: string; detail?: string };
    expect(problem).toMatchObject({ status, code: expect.any(String), type: `/problems/${problem.code}` });
    // A healthy store refuses nothing: what it refused got past the validation.
    expect(problem.code, problem.detail).not.toBe("store_unavailable");
    if (status === 503) expect(problem.code).toBe("read_model_behind");
  };

  it("never answers 500, every error is a problem with a code, and nothing unauthorised or refused is written", async () => {
    await fc.assert(
      fc.asyncProperty(request, async (generated) => {
        const { route } = generated;
        const broken = new Set<string>(generated.broken);
        const basket = baskets[generated.basket] as CreatedBasket;
        const ids = new Map<string, string>([
          ["id", broken.has("id") ? (generated.id === "unknown" ? uuidv7() : generated.id) : basket.id],
          ["sku", broken.has("sku") ? generated.sku : "tea"],
        ]);
        const basketId = route.path.includes("{id}") ? ids.get("id") : undefined;
        const method = broken.has("method") ? generated.method : route.method;
        // Another method on the same path may be another route (DELETE …/items clears the basket).
        const target = broken.has("path")
          ? undefined
          : routes.find((other) => other.method === method && other.path === route.path);
        const path = broken.has("path")
          ? generated.path
          : route.path.replace(/\{(\w+)\}/g, (_, name: string) => percentEncoded(ids.get(name) ?? ""));
        const search = broken.has("query")
          ? generated.query
              .map(([name, value]) => `${percentEncoded(name)}=${percentEncoded(value)}`)
              .join("&")
          : "";
        const valid = validBodies[`${route.method} ${route.path}`];
        const body = broken.has("body")
          ? generated.body
          : valid === undefined
            ? undefined
            : JSON.stringify(valid);

        const given = broken.has("credential") ? generated.credential : rightCredential(route);
        const auth: Record<string, string> = {};
        const tokenOf = (index: number) => (baskets[index] as CreatedBasket).token;
        if (given.kind === "admin") Object.assign(auth, adminAuth);
        if (given.kind === "malformed") auth.authorization = "Basic dXNlcjpwYXNz";
        if (given.kind === "own" && basketId) auth.authorization = `Bearer ${real.issue(basketId)}`;
        if (given.kind === "own-cookie" && basketId) auth.cookie = `basket_token=${real.issue(basketId)}`;
        if (given.kind === "forged" && basketId) auth.authorization = `Bearer ${forged.issue(basketId)}`;
        if (given.kind === "basket") auth.authorization = `Bearer ${tokenOf(given.index)}`;
        if (given.kind === "basket-cookie") auth.cookie = `basket_token=${tokenOf(given.index)}`;
        if (given.kind === "garbage") auth.authorization = `Bearer ${given.text}`;
        if (given.kind === "garbage-cookie") auth.cookie = given.text;
        // Whether this caller may touch the basket in the path (a token of another id opens nothing).
        const opens =
          given.kind === "admin" ||
          ((given.kind === "own" || given.kind === "own-cookie") && basketId !== undefined) ||
          ((given.kind === "basket" || given.kind === "basket-cookie") &&
            baskets[given.index]?.id === basketId);
        const sentHeaders = {
          ...(body === undefined ? {} : { "content-type": "application/json" }),
          ...(generated.queued ? { prefer: "respond-async" } : {}),
          ...(broken.has("headers") ? generated.headers : {}),
          ...auth,
        };

        const before = await events();
        const response = await cluster.app.inject({
          method,
          url: search ? `${path}?${search}` : path,
          headers: sentHeaders,
          ...(body === undefined ? {} : { payload: body }),
        } as InjectOptions);
        // A queued command is counted once a worker is done with it, and it writes only if it succeeded.
        const queued = response.statusCode === 202 ? await settled(response.json().commandId) : undefined;
        const written = (await events()) - before;
        // The one refusal that writes: a checkout that finds the catalog changed (a run may
        // delist or reprice "tea") records the new prices and answers 409 prices_changed.
        const recordsChanges = (code: string | undefined) => code === "prices_changed";
        if (queued) expect(queued.status, JSON.stringify(queued)).toMatch(/^(succeeded|failed)$/);
        if (queued?.status === "failed" && !recordsChanges(queued.problem?.code))
          expect(written, JSON.stringify(queued)).toBe(0);

        const status = response.statusCode;
        expectAnswerOrProblem(response);
        const refusedWriting = status === 409 && recordsChanges((response.json() as { code?: string }).code);
        if (target && target.access !== "public" && !opens) {
          expect(status, response.body).toBeGreaterThanOrEqual(400);
          expect([400, 401, 403, 404, 414]).toContain(status);
        }
        if (written > 0) {
          // Only an accepted command writes (or a checkout that met new prices), and only one its caller may give.
          if (!refusedWriting) {
            expect(status).toBeGreaterThanOrEqual(200);
            expect(status).toBeLessThan(300);
          }
          expect(target).toBeDefined();
          expect(target?.access === "public" || opens).toBe(true);
        }
        if ((status < 200 || status >= 300) && !refusedWriting) expect(written).toBe(0);
      }),
      { numRuns: runs },
    );
  });

  it("takes any text wherever a visitor or the shop gives text, and refuses what it cannot keep", async () => {
    const item = validBodies["POST /baskets/{id}/items"] as Record<string, unknown>;
    type Place = (text: string, basket: CreatedBasket) => InjectOptions;
    const json = (auth: Record<string, string>, body: unknown) => ({
      headers: { "content-type": "application/json", ...auth },
      payload: JSON.stringify(body),
    });
    const places: Place[] = [
      (text) => ({ method: "POST", url: "/baskets", ...json({}, { visitorId: text }) }),
      (text, basket) => ({
        method: "POST",
        url: `/baskets/${basket.id}/items`,
        ...json(basket.auth, { ...item, sku: text }),
      }),
      // A product's name and sku are the operator's text now, given to the catalog.
      (text) => ({
        method: "PUT",
        url: "/products/tea",
        ...json(adminAuth, { name: text, prices: { EUR: 250 } }),
      }),
      (text) => ({
        method: "PUT",
        url: `/products/${percentEncoded(text)}`,
        ...json(adminAuth, { name: "Fuzzed", prices: { EUR: 250 } }),
      }),
      (text, basket) => ({
        method: "PUT",
        url: `/baskets/${basket.id}/items/${percentEncoded(text)}`,
        ...json(basket.auth, { quantity: 2 }),
      }),
      (text, basket) => ({
        method: "DELETE",
        url: `/baskets/${basket.id}/items/${percentEncoded(text)}`,
        headers: basket.auth,
      }),
      (text, basket) => ({
        method: "POST",
        url: `/baskets/${basket.id}/checkout`,
        headers: { ...basket.auth, "idempotency-key": text },
      }),
      (text) => ({ method: "GET", url: `/baskets?visitorId=${percentEncoded(text)}`, headers: adminAuth }),
      (text) => ({ method: "GET", url: `/baskets?cursor=${percentEncoded(text)}`, headers: adminAuth }),
      (text) => ({
        method: "GET",
        url: `/baskets/abandoned?olderThan=${percentEncoded(text)}`,
        headers: adminAuth,
      }),
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: places.length - 1 }),
        hostileText,
        fc.integer({ min: 0, max: 2 }),
        async (place, text, index) => {
          const before = await events();
          const response = await cluster.app.inject(
            (places[place] as Place)(text, baskets[index] as CreatedBasket),
          );
          const written = (await events()) - before;
          expectAnswerOrProblem(response);
          // A checkout after the other property delisted "tea" records that, and is refused.
          const pricesChanged =
            response.statusCode === 409 && (response.json() as { code: string }).code === "prices_changed";
          if (response.statusCode >= 300 && !pricesChanged) expect(written).toBe(0);
        },
      ),
      { numRuns: runs },
    );
  });
});
