import { v7 as uuidv7 } from "uuid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { basketStream } from "../../src/aggregates/basket/index.js";
import { BasketCommandHandler } from "../../src/commands/basket-command-handler.js";
import type { Database } from "../../src/db/database.js";
import type { EsdbEventStore } from "../../src/eventstore/esdb/esdb-event-store.js";
import type { ProjectionStatus } from "../../src/projections/projection-status.js";
import { createBasket, operatorEnv, testTokenSecret } from "../support/baskets.js";
import { seedCatalog } from "../support/catalog.js";
import { runCli } from "../support/cli.js";
import { openTestDatabase } from "../support/databases.js";
import { startTestEsdb, type TestEsdb } from "../support/esdb.js";
import { startCli } from "../support/processes.js";
import { foldedBasket, readModelBasket } from "../support/read-model.js";

const listening = (line: Record<string, unknown>) => /basket service \(\w+\) at http/.test(String(line.msg));
const urlOf = (line: Record<string, unknown>) => /at (http:\/\/\S+)/.exec(String(line.msg))?.[1] as string;

/** The real CLI with EVENT_STORE=esdb: events in EventStoreDB, the read model in PostgreSQL. */
describe("basket serve and projections on EventStoreDB (the CLI)", { timeout: 120_000 }, () => {
  let esdb: TestEsdb;
  let store: EsdbEventStore;
  let database: Database & { url?: string };
  let env: Record<string, string>;
  beforeAll(async () => {
    esdb = await startTestEsdb();
    store = esdb.openStore();
    await seedCatalog(store, { tea: 450 });
    database = await openTestDatabase("postgres");
    env = {
      EVENT_STORE: "esdb",
      ESDB_URL: esdb.url,
      ESDB_NAMESPACE: esdb.namespace,
      DATABASE_URL: database.url as string,
      MIGRATE_ON_START: "true",
      BASKET_TOKEN_SECRETS: testTokenSecret,
      ...operatorEnv,
    };
  });
  afterAll(async () => {
    await store?.close();
    await esdb?.stop();
    await database?.close();
  });

  const status = async (name: string) => {
    const run = await runCli(["projections", "status", name, "--json"], env);
    expect(run.code, run.stderr).toBe(0);
    return JSON.parse(run.stdout) as ProjectionStatus;
  };

  it("serves commands into EventStoreDB and answers queries from the read model it projects", async () => {
    const service = startCli(["serve"], { ...env, PORT: "0" });
    const url = urlOf(await service.waitFor(listening, 30_000));

    const { id, auth } = await createBasket(url);
    const added = await fetch(`${url}/baskets/${id}/items`, {
      method: "POST",
      headers: { "content-type": "application/json", ...auth },
      body: JSON.stringify({ sku: "tea", quantity: 2 }),
    });
    expect(await added.json()).toMatchObject({ total: 900, revision: 1 });
    const [, itemAdded] = await store.readStream(basketStream(id));
    expect(added.headers.get("x-global-position")).toBe(String(itemAdded?.position));

    const read = await fetch(`${url}/baskets/${id}?minRevision=1`, { headers: auth });
    expect(read.status).toBe(200);
    expect(await read.json()).toMatchObject({
      id,
      total: 900,
      revision: 1,
      lines: [{ sku: "tea", quantity: 2 }],
    });
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/^projection_events_total\{projection="baskets"\} 2$/m);

    service.child.kill("SIGTERM");
    expect(await service.exited).toBe(0);
    expect(await readModelBasket(database, id)).toEqual(await foldedBasket(store, id));
  });

  it("tells a projection's lag and rebuilds it through the store", async () => {
    const before = await status("baskets");
    expect(before.checkpoint).toMatch(/^esdb:\d+:\d+$/);
    expect(before.lag.events).toBe(0);

    // Written while no projector runs: the status counts it in EventStoreDB, not in the database.
    const basketId = uuidv7();
    const outcome = await new BasketCommandHandler(store).handle({
      commandId: uuidv7(),
      basketId,
      command: { type: "CreateBasket", data: { basketId } },
    });
    expect(outcome.ok).toBe(true);
    expect((await status("baskets")).lag.events).toBe(1);

    const rebuild = await runCli(["projections", "rebuild", "baskets", "--json"], env);
    expect(rebuild.code, rebuild.stderr).toBe(0);
    const result = JSON.parse(rebuild.stdout);
    expect(result).toMatchObject({ plan: { eventsInLog: 3, eventsToProcess: 3 }, totalApplied: 3 });
    expect(result.checkpoint).toBe(outcome.ok && outcome.events[0]?.checkpoint);
    expect(await readModelBasket(database, basketId)).toEqual(await foldedBasket(store, basketId));
  });
});
