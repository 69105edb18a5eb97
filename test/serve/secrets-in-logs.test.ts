import { Writable } from "node:stream";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../src/logging.js";
import { allEventsWildcard } from "../../src/nats/names.js";
import { bearer, createBasket } from "../support/baskets.js";
import { putCatalog } from "../support/catalog.js";
import { createPostgresDatabase } from "../support/databases.js";
import { connectNats, deleteStreamsOf, uniquePrefix } from "../support/nats.js";
import { type ServiceProcess, startCli } from "../support/processes.js";

const listening = (line: Record<string, unknown>) => /basket service \(\w+\) at http/.test(String(line.msg));
const urlOf = (line: Record<string, unknown>) => /at (http:\/\/\S+)/.exec(String(line.msg))?.[1] as string;

describe("secrets in the logs", () => {
  const secrets = {
    databasePassword: "db-password-9f1c2e",
    natsPassword: "nats-password-4b7d1a",
    tokenSecret: "token-secret-3c9e5b-0123456789abcdef0123",
    adminToken: "admin-token-8a2f6d-0123456789abcdef01234",
    guessedToken: "guessed-token-5e3b9c",
  };
  const prefix = uniquePrefix("logs");
  let database: Awaited<ReturnType<typeof createPostgresDatabase>>;
  let service: ServiceProcess;
  let url: string;
  beforeAll(async () => {
    database = await createPostgresDatabase();
    const withPassword = new URL(database.url);
    withPassword.password = secrets.databasePassword; // the shared server trusts, and ignores it
    service = startCli(["serve", "--role", "all"], {
      DATABASE_URL: withPassword.toString(),
      MIGRATE_ON_START: "true",
      NATS_URL: `nats://basket:${secrets.natsPassword}@127.0.0.1:4222`,
      NATS_SUBJECT_PREFIX: prefix,
      BASKET_TOKEN_SECRETS: secrets.tokenSecret,
      ADMIN_TOKENS: secrets.adminToken,
      PORT: "0",
      LOG_LEVEL: "trace",
    });
    url = urlOf(await service.waitFor(listening, 30_000));
    // The operator's catalog, with the admin token: a request the log must not repeat either.
    await putCatalog(url, ["tea"], bearer(secrets.adminToken));
  }, 60_000);
  afterAll(async () => {
    if (service && service.child.exitCode === null) service.child.kill("SIGTERM");
    await service?.exited;
    await deleteStreamsOf(prefix);
    await database?.drop();
  });

  it("keeps no Idempotency-Key, only its hash: not in the log, the events' metadata, the relay's messages or the KV buckets", async () => {
    const keys = {
      create: "create-key-7d2e91b4c0a3",
      add: "add-key-51f0c8e2d9b7",
      queued: "queued-key-a83c6e0f1d25",
    };
    const nc = await connectNats("logs-relay");
    const relayed: string[] = [];
    const subscription = nc.subscribe(allEventsWildcard(prefix), {
      callback: (_error, message) =>
        relayed.push(`${JSON.stringify(message.headers ?? {})} ${message.string()}`),
    });
    const created = await fetch(`${url}/baskets`, {
      method: "POST",
      headers: { "content-type": "application/json", "idempotency-key": keys.create },
      body: JSON.stringify({}),
    });
    expect(created.status).toBe(201);
    const basket = (await created.json()) as { id: string; token: string };
    const auth = bearer(basket.token);
    const add = (key: string, extra: Record<string, string> = {}) =>
      fetch(`${url}/baskets/${basket.id}/items`, {
        method: "POST",
        headers: { "content-type": "application/json", "idempotency-key": key, ...auth, ...extra },
        body: JSON.stringify({ sku: "tea", quantity: 1 }),
      });
    expect((await add(keys.add)).status).toBe(200);
    expect((await add(keys.add)).status).toBe(200); // the retry, answered from the claim
    expect((await add(keys.queued, { prefer: "respond-async" })).status).toBe(202);
    await expect
      .poll(() => relayed.filter((message) => message.includes(basket.id)).length, { timeout: 15_000 })
      .toBeGreaterThanOrEqual(3); // created, and two items added
    subscription.unsubscribe();

    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    const stored = await client
      .query<{ type: string; metadata: unknown }>(
        "select type, metadata from events where stream_id = $1 order by stream_revision",
        [`basket-${basket.id}`],
      )
      .finally(() => client.end());
    expect(stored.rows.map((row) => row.type)).toEqual(["BasketCreated", "ItemAdded", "ItemAdded"]);
    const metadata = JSON.stringify(stored.rows.map((row) => row.metadata));
    expect(metadata).toContain("idempotencyKey"); // the hash is kept, for dedupe
    const jsm = await nc.jetstreamManager();
    const kvEntries: string[] = [];
    for await (const name of jsm.streams.names())
      if (name.startsWith(`KV_${prefix}-`)) {
        const kv = await nc.jetstream().views.kv(name.slice("KV_".length));
        for await (const key of await kv.keys()) {
          const entry = await kv.get(key);
          kvEntries.push(`${key} ${entry?.string() ?? ""}`);
        }
      }
    expect(kvEntries.length).toBeGreaterThan(0);
    await nc.close();

    const log = service.lines.map((line) => JSON.stringify(line)).join("\n");
    for (const key of Object.values(keys))
      for (const [where, text] of Object.entries({
        log,
        metadata,
        relayed: relayed.join("\n"),
        kv: kvEntries.join("\n"),
      }))
        expect(`${where}: ${text}`).not.toContain(key);
  });

  it("holds no password, secret or token, whatever the requests sent and answered", async () => {
    const mine = await createBasket(url, { visitorId: "v" });
    const theirs = await createBasket(url);
    const json = { "content-type": "application/json" };
    const item = JSON.stringify({ sku: "tea", quantity: 1 });
    const answers = await Promise.all([
      fetch(`${url}/baskets/${mine.id}/items`, {
        method: "POST",
        headers: { ...json, ...mine.auth },
        body: item,
      }),
      fetch(`${url}/baskets/${mine.id}?minRevision=0`, { headers: { cookie: `basket_token=${mine.token}` } }),
      fetch(`${url}/baskets/${mine.id}`, { headers: theirs.auth }),
      fetch(`${url}/baskets/${mine.id}/checkout`, { method: "POST", headers: bearer(secrets.guessedToken) }),
      fetch(`${url}/baskets?visitorId=v`, { headers: bearer(secrets.adminToken) }),
      fetch(`${url}/baskets/abandoned`, { headers: { authorization: `Basic ${secrets.guessedToken}` } }),
      fetch(`${url}/baskets/${mine.id}/items`, {
        method: "POST",
        headers: { ...json, ...mine.auth },
        body: "{",
      }),
    ]);
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 403, 401, 200, 401, 400]);
    await service.waitFor(
      (line) => line.msg === "request completed" && (line.res as { statusCode?: number })?.statusCode === 400,
    );
    service.child.kill("SIGTERM");
    expect(await service.exited).toBe(0);

    const log = service.lines.map((line) => JSON.stringify(line)).join("\n");
    expect(log).toContain("request completed"); // it did log the requests, at trace level
    for (const secret of [...Object.values(secrets), mine.token, theirs.token])
      expect(log).not.toContain(secret);
  });

  it("repeats no secret in a configuration error", async () => {
    const refused = startCli(["serve"], {
      DATABASE_URL: `postgres://postgres:${secrets.databasePassword}@`,
      BASKET_TOKEN_SECRETS: "short-secret-value",
    });
    expect(await refused.exited).toBe(1);
    const shorter = startCli(["serve"], {
      BASKET_TOKEN_SECRETS: `${secrets.tokenSecret},short-secret-value`,
    });
    expect(await shorter.exited).toBe(1);
    const log = [...refused.lines, ...shorter.lines].map((line) => JSON.stringify(line)).join("\n");
    expect(log).toMatch(/DATABASE_URL is not valid/);
    expect(log).toMatch(/BASKET_TOKEN_SECRETS is not valid: .*entry 2/);
    for (const secret of [secrets.databasePassword, secrets.tokenSecret, "short-secret-value"])
      expect(log).not.toContain(secret);
  });

  it("censors credentials a line might one day carry", () => {
    let written = "";
    const sink = new Writable({
      write(chunk, _encoding, done) {
        written += chunk.toString();
        done();
      },
    });
    const log = createLogger("info", "test", sink);
    log.info(
      {
        req: {
          headers: {
            authorization: `Bearer ${secrets.adminToken}`,
            cookie: `basket_token=${secrets.guessedToken}`,
          },
        },
        nats: { user: "basket", password: secrets.natsPassword, token: secrets.tokenSecret },
      },
      "a careless line",
    );
    expect(written).toContain("[redacted]");
    for (const secret of Object.values(secrets)) expect(written).not.toContain(secret);
  });
});
