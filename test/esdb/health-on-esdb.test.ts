import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/config.js";
import { type Running, serve } from "../../src/serve/serve.js";
import { type EsdbDouble, startEsdbDouble } from "../esdb-double/esdb-double.js";
import { createPostgresDatabase } from "../support/databases.js";

/** Needs the double: only it can be made to go away and come back on cue. */
describe("/health/ready of a projector on EventStoreDB", () => {
  let double: EsdbDouble;
  let database: { url: string; drop: () => Promise<void> };
  let projector: Running;
  beforeAll(async () => {
    double = await startEsdbDouble();
    database = await createPostgresDatabase();
    const config = loadConfig({
      EVENT_STORE: "esdb",
      ESDB_URL: double.url,
      DATABASE_URL: database.url,
      MIGRATE_ON_START: "true",
      PORT: "0",
    });
    projector = await serve("projector", config, pino({ level: "silent" }));
  });
  afterAll(async () => {
    await projector?.stop();
    await double?.stop();
    await database?.drop();
  });

  const ready = async () => {
    const response = await fetch(`${projector.url}/health/ready`);
    const { checks } = (await response.json()) as { checks: Record<string, { status: string }> };
    return { status: response.status, eventStore: checks.eventStore?.status };
  };

  it("checks the event store beside the database: 503 while the server is away, 200 when it is back", async () => {
    expect(await ready()).toEqual({ status: 200, eventStore: "up" });
    const restarting = double.restart({ pauseMs: 4_000 });
    await expect.poll(ready, { timeout: 3_500, interval: 100 }).toEqual({ status: 503, eventStore: "down" });
    await restarting;
    await expect.poll(ready, { timeout: 15_000, interval: 100 }).toEqual({ status: 200, eventStore: "up" });
  });
});
