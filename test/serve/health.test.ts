import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BasketTokens } from "../../src/access/basket-tokens.js";
import { loadConfig } from "../../src/config/config.js";
import type { Role } from "../../src/config/roles.js";
import { openDatabase } from "../../src/db/database.js";
import { migrateToLatest } from "../../src/db/migrate.js";
import { type Running, serve } from "../../src/serve/serve.js";
import { bearer, testTokenSecret } from "../support/baskets.js";
import {
  type PrivateNats,
  type PrivatePostgres,
  startPrivateNats,
  startPrivatePostgres,
} from "../support/private-servers.js";

interface Ready {
  status: number;
  type: string | null;
  ms: number;
  body: { status?: string; code?: string; detail?: string; checks: Record<string, { status: string }> };
}

const ready = async (url: string): Promise<Ready> => {
  const started = performance.now();
  const response = await fetch(`${url}/health/ready`);
  const body = (await response.json()) as Ready["body"];
  return {
    status: response.status,
    type: response.headers.get("content-type"),
    ms: performance.now() - started,
    body,
  };
};

const checkStates = (answer: Ready) =>
  Object.fromEntries(Object.entries(answer.body.checks).map(([name, check]) => [name, check.status]));

describe("/health/live and /health/ready on every role, against servers the test stops and starts", () => {
  let postgres: PrivatePostgres;
  let nats: PrivateNats;
  const roles: Partial<Record<Role, Running>> = {};
  const urlOf = (role: Role) => roles[role]?.url as string;

  beforeAll(async () => {
    [postgres, nats] = await Promise.all([startPrivatePostgres(), startPrivateNats()]);
    const database = await openDatabase({ kind: "postgres", url: postgres.url });
    await migrateToLatest(database);
    await database.close();
    const env = {
      DATABASE_URL: postgres.url,
      NATS_URL: nats.url,
      PORT: "0",
      HEARTBEAT_MS: "250",
      MEMBER_TTL_MS: "1000",
      NATS_PARTITIONS: "8",
      COMMAND_TIMEOUT_MS: "1000",
      BASKET_TOKEN_SECRETS: testTokenSecret,
    };
    const log = pino({ level: "silent" });
    for (const role of ["api", "worker"] as const) roles[role] = await serve(role, loadConfig(env), log);
    // A projector with no NATS_URL (no event relay) needs only the database.
    roles.projector = await serve("projector", loadConfig({ ...env, NATS_URL: "" }), log);
  });
  afterAll(async () => {
    for (const running of Object.values(roles)) await running.stop();
    await Promise.all([postgres?.destroy(), nats?.destroy()]);
  });

  it("is live and ready, naming the checks of each role's dependencies", async () => {
    for (const role of ["api", "worker", "projector"] as const) {
      const live = await fetch(`${urlOf(role)}/health/live`);
      expect(live.status).toBe(200);
      expect(await live.json()).toEqual({ status: "live" });
    }
    await expect.poll(async () => (await ready(urlOf("worker"))).status).toBe(200);
    expect(checkStates(await ready(urlOf("api")))).toEqual({ started: "up", database: "up", nats: "up" });
    expect(checkStates(await ready(urlOf("worker")))).toEqual({
      started: "up",
      database: "up",
      nats: "up",
      worker: "up",
    });
    expect(checkStates(await ready(urlOf("projector")))).toEqual({ started: "up", database: "up" });
    expect((await ready(urlOf("worker"))).body).toMatchObject({
      status: "ready",
      checks: { worker: { detail: "8 of 8 partitions, 1 members" } },
    });
  });

  it("turns 503 at once while NATS is down — for the roles that use it — and 200 again when it is back", async () => {
    await nats.stop();
    const stoppedAt = Date.now();
    for (const role of ["api", "worker"] as const) {
      await expect.poll(async () => (await ready(urlOf(role))).status, { timeout: 10_000 }).toBe(503);
      // The cache's second, and a little.
      expect(Date.now() - stoppedAt).toBeLessThan(3_000);
      const answer = await ready(urlOf(role));
      expect(answer.ms).toBeLessThan(1_000);
      expect(answer.type).toMatch(/^application\/problem\+json/);
      expect(answer.body).toMatchObject({
        status: 503,
        code: "not_ready",
        detail: expect.stringMatching(/nats: /),
      });
      expect(answer.body.checks.nats?.status).toBe("down");
      expect((await fetch(`${urlOf(role)}/health/live`)).status).toBe(200);
    }
    expect((await ready(urlOf("projector"))).status).toBe(200);
    // Meanwhile a create with a key, which the API claims in NATS first, is refused as unavailable.
    const create = await fetch(`${urlOf("api")}/baskets`, {
      method: "POST",
      headers: { "idempotency-key": "01890a5d-ac96-774b-bcce-b302099a8057" },
    });
    await expectUnavailable(create, "nats_unavailable");

    await nats.start();
    for (const role of ["api", "worker", "projector"] as const)
      await expect.poll(async () => (await ready(urlOf(role))).status, { timeout: 15_000 }).toBe(200);
    expect(checkStates(await ready(urlOf("worker")))).toEqual({
      started: "up",
      database: "up",
      nats: "up",
      worker: "up",
    });
  });

  it("turns 503 while PostgreSQL is down — on every role — and 200 again when it is back", async () => {
    await postgres.stop("fast");
    const stoppedAt = Date.now();
    for (const role of ["api", "worker", "projector"] as const) {
      await expect.poll(async () => (await ready(urlOf(role))).status, { timeout: 10_000 }).toBe(503);
      expect(Date.now() - stoppedAt).toBeLessThan(3_000);
      const answer = await ready(urlOf(role));
      expect(answer.ms).toBeLessThan(1_000);
      expect(answer.body.checks.database?.status).toBe("down");
    }
    // Meanwhile a query is refused as unavailable, not failed.
    const basketId = "01890a5d-ac96-774b-bcce-b302099a8057";
    const token = new BasketTokens([testTokenSecret]).issue(basketId);
    const query = await fetch(`${urlOf("api")}/baskets/${basketId}`, { headers: bearer(token) });
    await expectUnavailable(query, "database_unavailable");
    await postgres.start();
    for (const role of ["api", "worker", "projector"] as const)
      await expect.poll(async () => (await ready(urlOf(role))).status, { timeout: 15_000 }).toBe(200);
  });
});

/** Refused for now, not failed: 503, a problem with the code, and when to try again. */
async function expectUnavailable(response: Response, code: string): Promise<void> {
  expect(response.status).toBe(503);
  expect(response.headers.get("retry-after")).toBe("1");
  expect(await response.json()).toMatchObject({ code });
}
