import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../src/logging.js";
import { bearer, createBasket } from "../support/baskets.js";
import { putCatalog } from "../support/catalog.js";
import { createPostgresDatabase } from "../support/databases.js";
import { connectNats, uniquePrefix } from "../support/nats.js";
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
    const nc = await connectNats("logs-cleanup");
    const jsm = await nc.jetstreamManager();
    for (const bucket of ["create-keys", "routing", "workers"])
      await jsm.streams.delete(`KV_${prefix}-${bucket}`).catch(() => {});
    await nc.close();
    await database?.drop();
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
