import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/config.js";
import { openDatabase } from "../../src/db/database.js";
import { migrateToLatest } from "../../src/db/migrate.js";
import { PostgresEventStore } from "../../src/eventstore/postgres/postgres-event-store.js";
import { type Running, serve } from "../../src/serve/serve.js";
import { bearer, testTokenSecret } from "../support/baskets.js";
import { seedCatalog } from "../support/catalog.js";
import { type PrivatePostgres, startPrivatePostgres } from "../support/private-servers.js";

/**
 * Issue 20, part 2: queries read from a streaming replica (DATABASE_READ_URL) — a private primary
 * and a hot standby copied from it with pg_basebackup -R — while commands, projections and
 * checkpoints stay on the primary. One process (`serve --role all`, no NATS) is the whole service.
 */
describe("queries from a read replica", { timeout: 60_000 }, () => {
  let primary: PrivatePostgres;
  let replica: PrivatePostgres;
  let service: Running;
  let basket: { id: string; auth: Record<string, string> };
  let revision = 0;

  beforeAll(async () => {
    primary = await startPrivatePostgres();
    const database = await openDatabase({ kind: "postgres", url: primary.url });
    await migrateToLatest(database);
    await seedCatalog(new PostgresEventStore(database), ["tea"]);
    await database.close();
    replica = await startPrivatePostgres({ replicaOf: primary });
    const env = {
      DATABASE_URL: primary.url,
      DATABASE_READ_URL: replica.url,
      BASKET_TOKEN_SECRETS: testTokenSecret,
      PORT: "0",
    };
    service = await serve("all", loadConfig(env), pino({ level: "silent" }));
    const created = await fetch(`${service.url}/baskets`, { method: "POST" });
    const { id, token } = (await created.json()) as { id: string; token: string };
    basket = { id, auth: bearer(token) };
  }, 120_000);
  afterAll(async () => {
    await service?.stop();
    await replica?.destroy();
    await primary?.destroy();
  });

  const addTea = async () => {
    const added = await fetch(`${service.url}/baskets/${basket.id}/items`, {
      method: "POST",
      headers: { ...basket.auth, "content-type": "application/json" },
      body: JSON.stringify({ sku: "tea", quantity: 1 }),
    });
    expect(added.status).toBe(200);
    revision = ((await added.json()) as { revision: number }).revision;
    return revision;
  };
  const read = async (minRevision?: number) => {
    const query = minRevision === undefined ? "" : `?minRevision=${minRevision}`;
    const answer = await fetch(`${service.url}/baskets/${basket.id}${query}`, { headers: basket.auth });
    return { status: answer.status, body: (await answer.json()) as { revision?: number; code?: string } };
  };
  const readiness = async () =>
    (
      (await (await fetch(`${service.url}/health/ready`)).json()) as {
        checks: Record<string, { status: string; detail?: string }>;
      }
    ).checks;

  it("reads its own writes through the replica, waiting while the replica is behind the primary", async () => {
    expect((await readiness()).readReplica).toMatchObject({
      status: "up",
      detail: "queries read from the replica",
    });
    const first = await addTea();
    expect(await read(first)).toMatchObject({ status: 200, body: { revision: first } });

    // The replica stops replaying the primary's WAL: it keeps answering, ever further behind.
    await replica.admin("select pg_wal_replay_pause()");
    try {
      const second = await addTea();
      // The primary's read model has it (the projection ran there), the replica's has not.
      expect(await read()).toMatchObject({ status: 200, body: { revision: first } });
      const waited = performance.now();
      expect(await read(second)).toMatchObject({ status: 503, body: { code: "read_model_behind" } });
      expect(performance.now() - waited).toBeGreaterThan(1_500);

      // A wait under way sees the revision as soon as the replica has replayed it.
      const waiting = read(second);
      await new Promise((resolve) => setTimeout(resolve, 300));
      await replica.admin("select pg_wal_replay_resume()");
      expect(await waiting).toMatchObject({ status: 200, body: { revision: second } });
    } finally {
      await replica.admin("select pg_wal_replay_resume()").catch(() => {});
    }
  });

  it("while the replica is stopped, queries read from the primary and commands go on; then the replica again", async () => {
    await replica.stop("fast");
    try {
      // Commands never touch the replica.
      const added = await addTea();
      // The first query after the stop may have been on a connection the replica closed: retry once.
      const answer = await read(added).then((first) => (first.status === 200 ? first : read(added)));
      expect(answer).toMatchObject({ status: 200, body: { revision: added } });
      // Still ready (readiness reports are reused for a second): answered, from the primary.
      await expect
        .poll(async () => (await readiness()).readReplica?.detail, { timeout: 5_000, interval: 250 })
        .toMatch(/^queries read from the primary since .*: the replica does not answer/);
      const checks = await readiness();
      expect([checks.readReplica?.status, checks.database?.status]).toEqual(["up", "up"]);
    } finally {
      await replica.start();
    }
    // Tried again every 5 s: back on the replica, and reading its own writes there.
    await expect
      .poll(async () => (await readiness()).readReplica?.detail, { timeout: 15_000, interval: 250 })
      .toBe("queries read from the replica");
    await replica.admin("select pg_wal_replay_pause()");
    try {
      const added = await addTea();
      expect(await read(added)).toMatchObject({ status: 503, body: { code: "read_model_behind" } });
    } finally {
      await replica.admin("select pg_wal_replay_resume()");
    }
    expect(await read(revision)).toMatchObject({ status: 200, body: { revision } });
  });
});
