import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createBasket } from "../support/baskets.js";
import { startCommandCluster } from "../support/command-cluster.js";

const runs = Number(process.env.FUZZ_RUNS ?? 100);
const json = { "content-type": "application/json" };
const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

describe("the edge, whatever is thrown at it", () => {
  let cluster: Awaited<ReturnType<typeof startCommandCluster>>;
  beforeAll(async () => {
    cluster = await startCommandCluster({ workers: 2 });
    await cluster.seedCatalog({ A: 100, B: 200 });
  });
  afterAll(() => cluster?.stop());

  const request = (method: "POST" | "PUT", url: string, body: unknown, headers: Record<string, string>) =>
    cluster.app.inject({ method, url, headers: { ...json, ...headers }, payload: JSON.stringify(body) });
  const allEvents = async (ids: readonly string[]) =>
    (await Promise.all(ids.map((id) => cluster.store.readStream(`basket-${id}`)))).flat();

  it("applies each key's request at most once, refuses every other use of it, and never stores the key", {
    timeout: 300_000,
  }, async () => {
    let run = 0;
    const requestFor = fc.record({
      basket: fc.nat(1),
      route: fc.constantFrom("add", "change", "checkout"),
      sku: fc.constantFrom("A", "B"),
      quantity: fc.integer({ min: 1, max: 3 }),
      key: fc.nat(2),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(requestFor, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 6 }),
        async (waves) => {
          run++;
          const keys = [0, 1, 2].map((i) => `edge-${run}-${i}-${Math.random().toString(36).slice(2)}`);
          const baskets = [await createBasket(cluster.app), await createBasket(cluster.app)];
          /** What each key was first used for: the only request it may be answered as. */
          const firstUse = new Map<string, string>();
          for (const wave of waves) {
            // A wave goes out at once: the same key may be in flight twice.
            const answers = await Promise.all(
              wave.map((r) => {
                const basket = baskets[r.basket] as (typeof baskets)[number];
                const key = keys[r.key] as string;
                const [method, url, body] =
                  r.route === "add"
                    ? (["POST", `/baskets/${basket.id}/items`, { sku: r.sku, quantity: r.quantity }] as const)
                    : r.route === "change"
                      ? (["PUT", `/baskets/${basket.id}/items/${r.sku}`, { quantity: r.quantity }] as const)
                      : (["POST", `/baskets/${basket.id}/checkout`, {}] as const);
                const what = JSON.stringify([method, url, body]);
                return request(method, url, body, { ...basket.auth, "idempotency-key": key }).then(
                  (answer) => ({
                    answer,
                    key,
                    what,
                  }),
                );
              }),
            );
            for (const { answer, key, what } of answers) {
              const code = (answer.json() as { code?: string }).code;
              expect(answer.statusCode, JSON.stringify(answer.json())).not.toBe(500);
              if (code === "idempotency_key_in_use") continue;
              if (code === "idempotency_key_reused") {
                expect(firstUse.get(key)).toBeDefined();
                expect(firstUse.get(key)).not.toBe(what);
                continue;
              }
              // Any other answer — applied, replayed or refused by the basket — is the key's first request.
              if (!firstUse.has(key)) firstUse.set(key, what);
              expect(firstUse.get(key)).toBe(what);
            }
          }
          const events = await allEvents(baskets.map((basket) => basket.id));
          const text = JSON.stringify(events, (_, value) => (typeof value === "bigint" ? `${value}` : value));
          for (const key of keys) expect(text).not.toContain(key);
          // Each key's command was applied once: its events all carry one command id.
          const commandsOfKey = new Map<string, Set<string>>();
          for (const event of events) {
            const hash = event.metadata.idempotencyKey as string | undefined;
            if (!hash) continue;
            commandsOfKey.set(
              hash,
              (commandsOfKey.get(hash) ?? new Set()).add(event.metadata.commandId as string),
            );
          }
          for (const ids of commandsOfKey.values()) expect(ids.size).toBe(1);
        },
      ),
      { numRuns: Math.ceil(runs / 4) },
    );
  });

  it("creates with a key only when the key could not be guessed", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.uuid(), fc.string({ maxLength: 40 }), fc.stringMatching(/^[A-Za-z0-9_-]{1,30}$/)),
        async (key) => {
          const printable = /^[\x21-\x7e]+$/.test(key);
          if (!printable) return; // not a header value a client could send
          const answer = await request("POST", "/baskets", {}, { "idempotency-key": key });
          const acceptable = uuid.test(key) || /^[A-Za-z0-9_-]{22,200}$/.test(key);
          expect(answer.statusCode, key).toBe(acceptable ? 201 : 400);
        },
      ),
      { numRuns: runs },
    );
  });

  it("lets a cookie write only from this origin and as JSON or nothing", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          origin: fc.constantFrom(undefined, "http://shop.example", "https://evil.example", "null"),
          site: fc.constantFrom(undefined, "same-origin", "none", "same-site", "cross-site"),
          type: fc.constantFrom(
            undefined,
            "application/json",
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
          ),
        }),
        async ({ origin, site, type }) => {
          const created = await createBasket(cluster.app);
          const cookie = String(
            ([] as string[]).concat(created.response.headers["set-cookie"] as string)[0],
          ).split(";")[0] as string;
          const headers: Record<string, string> = { cookie, host: "shop.example" };
          if (origin) headers.origin = origin;
          if (site) headers["sec-fetch-site"] = site;
          if (type) headers["content-type"] = type;
          const answer = await cluster.app.inject({
            method: "POST",
            url: `/baskets/${created.id}/items`,
            headers,
            payload:
              type === "application/json" || type === undefined
                ? JSON.stringify({ sku: "A", quantity: 1 })
                : "sku=A",
          });
          const sameOrigin =
            (site === undefined || site === "same-origin" || site === "none") &&
            (origin === undefined || origin === "http://shop.example");
          const jsonOrNothing = type === undefined || type === "application/json";
          const written = (await cluster.store.readStream(`basket-${created.id}`)).length > 1;
          expect(written, JSON.stringify({ origin, site, type, status: answer.statusCode })).toBe(
            sameOrigin && jsonOrNothing && answer.statusCode === 200,
          );
          if (!sameOrigin) expect(answer.statusCode).toBe(403);
          else if (!jsonOrNothing) expect(answer.statusCode).toBe(415);
        },
      ),
      { numRuns: Math.ceil(runs / 2) },
    );
  });
});
