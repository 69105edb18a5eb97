import { hostname } from "node:os";
import { pino } from "pino";
import { v7 as uuidv7 } from "uuid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BasketCommandHandler } from "../../src/commands/basket-command-handler.js";
import type { Database } from "../../src/db/database.js";
import { PostgresEventStore } from "../../src/eventstore/postgres/postgres-event-store.js";
import { basketsProjection } from "../../src/projections/baskets/baskets-projection.js";
import { defaultRunnerOptions, ProjectionRunner } from "../../src/projections/projection-runner.js";
import { seedCatalog } from "../support/catalog.js";
import { openTestDatabase } from "../support/databases.js";
import { startCli } from "../support/processes.js";
import { foldedBasket, projectionCaughtUp, readModelBasket } from "../support/read-model.js";

describe("basket serve --role projector", () => {
  let database: Database & { url?: string };
  let store: PostgresEventStore;
  beforeAll(async () => {
    database = await openTestDatabase("postgres");
    store = new PostgresEventStore(database);
    await seedCatalog(store, { a: 5 });
  });
  afterAll(() => store?.close());

  const owner = (name: string) =>
    database.db
      .selectFrom("projection_checkpoints")
      .select("owner")
      .where("name", "=", name)
      .executeTakeFirst();

  it("keeps the read model; when its process is killed, a standby elsewhere takes over within seconds", async () => {
    const projector = startCli(["serve", "--role", "projector"], { DATABASE_URL: database.url as string });
    const listening = await projector.waitFor((line) =>
      /basket service \(projector\) at/.test(String(line.msg)),
    );
    const url = /at (http:\/\/\S+)/.exec(String(listening.msg))?.[1];
    await projector.waitFor((line) => line.msg === "active runner" && line.projection === "baskets");
    await expect
      .poll(async () => (await owner("baskets"))?.owner)
      .toBe(`${hostname()}:${projector.child.pid}`);

    const handler = new BasketCommandHandler(store);
    const basketId = uuidv7();
    const created = await handler.handle({
      commandId: uuidv7(),
      basketId,
      command: { type: "CreateBasket", data: { basketId } },
    });
    expect(created).toMatchObject({ ok: true });
    await projectionCaughtUp(database, store, "baskets");
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/^projection_events_total\{projection="baskets"\} 1$/m);
    expect(metrics).toMatch(/^projection_lag_seconds\{projection="baskets"\} \d/m);

    const standby = new ProjectionRunner(database, store, basketsProjection, {
      ...defaultRunnerOptions,
      owner: "standby",
      standbyRetryMs: 250,
      log: pino({ level: "silent" }),
    });
    standby.start();
    try {
      await expect.poll(() => standby.state).toBe("standby");
      projector.child.kill("SIGKILL");
      const killedAt = Date.now();
      await expect.poll(() => standby.state, { timeout: 10_000, interval: 50 }).toBe("running");
      expect(Date.now() - killedAt).toBeLessThan(5_000);

      const added = await handler.handle({
        commandId: uuidv7(),
        basketId,
        command: { type: "AddItem", data: { sku: "a", quantity: 3 } },
      });
      expect(added).toMatchObject({ ok: true, basket: { total: 15 } });
      await projectionCaughtUp(database, store, "baskets");
      expect((await owner("baskets"))?.owner).toBe("standby");
      expect(await readModelBasket(database, basketId)).toEqual(await foldedBasket(store, basketId));
    } finally {
      await standby.stop();
    }
  });
});
