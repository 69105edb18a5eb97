import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { roles } from "../../src/config/roles.js";
import { createBasket, testTokenSecret } from "../support/baskets.js";
import { seedCatalogAt } from "../support/catalog.js";
import { createPostgresDatabase } from "../support/databases.js";
import { connectNats, testNatsUrl, uniquePrefix } from "../support/nats.js";
import { listeningUrl, type ServiceProcess, startCli } from "../support/processes.js";
import { connectSse } from "../support/sse.js";
import { dashboardQueries, readDashboard } from "./dashboard.js";
import { exposedSeries, familyOf } from "./promql.js";

/** Series Prometheus makes itself for every target it scrapes; no service exports them. */
const prometheusOwn = new Set(["up"]);

const deployedRoles = roles.filter((role) => role !== "all");

/**
 * The dashboard cannot drift from the code: every metric one of its queries reads is exported by
 * a role of the service as deployed — api, worker and projector as processes on PostgreSQL and
 * NATS — once a few commands (one of them queued) and a live stream have made the labelled series.
 */
describe("deploy/grafana/basket-service.json against the running roles", { timeout: 120_000 }, () => {
  const prefix = uniquePrefix("dash");
  let database: Awaited<ReturnType<typeof createPostgresDatabase>>;
  const processes = new Map<string, ServiceProcess>();
  const urls = new Map<string, string>();

  beforeAll(async () => {
    database = await createPostgresDatabase();
    const env = {
      DATABASE_URL: database.url,
      NATS_URL: testNatsUrl,
      NATS_SUBJECT_PREFIX: prefix,
      BASKET_TOKEN_SECRETS: testTokenSecret,
      PORT: "0",
      // Not a test of shedding: a process just started on a busy machine may lag past 1 s.
      PRESSURE_MAX_EVENT_LOOP_DELAY_MS: "0",
    };
    // The projector migrates the new database; the others start once it has.
    const start = (role: string, extra: Record<string, string> = {}) => {
      const started = startCli(["serve", "--role", role], { ...env, ...extra });
      processes.set(role, started);
      return listeningUrl(started).then((url) => urls.set(role, url));
    };
    await start("projector", { MIGRATE_ON_START: "true" });
    await Promise.all([start("worker"), start("api")]);
    await seedCatalogAt(database.url, ["tea", "mug"]);
  }, 90_000);

  afterAll(async () => {
    for (const started of processes.values()) started.child.kill("SIGTERM");
    await Promise.all([...processes.values()].map((started) => started.exited));
    const nc = await connectNats("test-dashboard-cleanup");
    const jsm = await nc.jetstreamManager();
    for await (const { config } of jsm.streams.list())
      if (config.name.includes(prefix)) await jsm.streams.delete(config.name);
    await nc.close();
    await database?.drop();
  });

  const metricsOf = async (role: string) => (await fetch(`${urls.get(role)}/metrics`)).text();

  it("queries only metrics that a role exports", async () => {
    const api = urls.get("api") as string;
    const basket = await createBasket(api);
    const json = { "content-type": "application/json", ...basket.auth };
    const item = (sku: string) => JSON.stringify({ sku, quantity: 1 });
    const added = await fetch(`${api}/baskets/${basket.id}/items`, {
      method: "POST",
      headers: json,
      body: item("tea"),
    });
    expect(added.status).toBe(200);
    const queued = await fetch(`${api}/baskets/${basket.id}/items`, {
      method: "POST",
      headers: { ...json, prefer: "respond-async" },
      body: item("mug"),
    });
    expect(queued.status).toBe(202);
    const status = `${api}${queued.headers.get("location")}`;
    await expect
      .poll(
        async () =>
          ((await (await fetch(status, { headers: basket.auth })).json()) as { status: string }).status,
      )
      .toBe("succeeded");
    const live = await connectSse(`${api}/baskets/${basket.id}/live`, basket.auth);
    try {
      await live.received(1);
      await expect.poll(() => metricsOf("projector")).toMatch(/^projection_lag_seconds\{/m);

      const exported = new Map<string, string[]>();
      for (const role of deployedRoles)
        for (const series of exposedSeries(await metricsOf(role)))
          exported.set(familyOf(series), [...(exported.get(familyOf(series)) ?? []), role]);
      // The labelled series are there, and the live-streams panel counts this stream.
      expect(exported.get("basket_queued_commands_total")).toEqual(["worker"]);
      expect(await metricsOf("api")).toMatch(/^basket_live_streams 1$/m);

      const queries = dashboardQueries(readDashboard());
      const read = queries.flatMap(({ where, selectors }) =>
        selectors.map(({ metric }) => ({ metric: familyOf(metric), where })),
      );
      expect(read.map(({ metric }) => metric)).toContain("basket_command_duration_seconds");
      const missing = read.filter(({ metric }) => !exported.has(metric) && !prometheusOwn.has(metric));
      expect(missing.map(({ metric, where }) => `${metric} (${where})`)).toEqual([]);
    } finally {
      live.close();
    }
  });
});
