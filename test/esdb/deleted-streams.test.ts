import { EventStoreDBClient } from "@eventstore/db-client";
import { v7 as uuidv7 } from "uuid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { basketStream } from "../../src/aggregates/basket/index.js";
import { BasketCommandHandler } from "../../src/commands/basket-command-handler.js";
import type { CommandEnvelope } from "../../src/commands/command.js";
import type { Database } from "../../src/db/database.js";
import { StreamDeleted } from "../../src/eventstore/errors.js";
import type { EsdbEventStore } from "../../src/eventstore/esdb/esdb-event-store.js";
import { basketsProjection } from "../../src/projections/baskets/baskets-projection.js";
import { defaultRunnerOptions, ProjectionRunner } from "../../src/projections/projection-runner.js";
import { seedCatalog } from "../support/catalog.js";
import { openTestDatabase } from "../support/databases.js";
import { startTestEsdb, type TestEsdb } from "../support/esdb.js";
import { capturedLog } from "../support/log-lines.js";
import { projectionCaughtUp, readModelBasket } from "../support/read-model.js";

/** Baskets whose streams an operator deleted in EventStoreDB. On the double, or the server of ESDB_URL. */
describe("deleted basket streams on EventStoreDB", () => {
  let esdb: TestEsdb;
  let store: EsdbEventStore;
  let client: EventStoreDBClient;
  let database: Database;
  const { log, lines } = capturedLog();
  beforeAll(async () => {
    esdb = await startTestEsdb();
    store = esdb.openStore({ log });
    await seedCatalog(store, { tea: 300 });
    client = EventStoreDBClient.connectionString(esdb.url);
    database = await openTestDatabase("postgres");
  });
  afterAll(async () => {
    await client?.dispose();
    await store?.close();
    await esdb?.stop();
    await database?.close();
  });

  const inServer = (basketId: string) => esdb.namespace + basketStream(basketId);
  const create = (basketId: string): CommandEnvelope => ({
    commandId: uuidv7(),
    basketId,
    command: { type: "CreateBasket", data: { basketId } },
  });
  const addTea = (basketId: string): CommandEnvelope => ({
    commandId: uuidv7(),
    basketId,
    command: { type: "AddItem", data: { sku: "tea", quantity: 1 } },
  });

  it("answers commands on a hard-deleted basket basket_deleted, cached or not; reading it throws StreamDeleted", async () => {
    const basketId = uuidv7();
    const cached = new BasketCommandHandler(store);
    expect((await cached.handle(create(basketId))).ok).toBe(true);
    await client.tombstoneStream(inServer(basketId));
    const gone = { ok: false, kind: "gone", code: "basket_deleted" };
    expect(await cached.handle(addTea(basketId))).toMatchObject(gone);
    expect(await new BasketCommandHandler(store).handle(addTea(basketId))).toMatchObject(gone);
    await expect(store.readStream(basketStream(basketId))).rejects.toBeInstanceOf(StreamDeleted);
  });

  it("reads a soft-deleted basket's stream as empty", async () => {
    const basketId = uuidv7();
    expect((await new BasketCommandHandler(store).handle(create(basketId))).ok).toBe(true);
    await client.deleteStream(inServer(basketId));
    expect(await store.readStream(basketStream(basketId))).toEqual([]);
  });

  it("passes over the tombstones in the log: a projection goes on past them, counting them, saying so once", async () => {
    const handler = new BasketCommandHandler(store);
    const [a, b, c] = [uuidv7(), uuidv7(), uuidv7()];
    for (const basketId of [a, b]) expect((await handler.handle(create(basketId))).ok).toBe(true);
    await client.tombstoneStream(inServer(a));
    await client.tombstoneStream(inServer(b));
    expect((await handler.handle(create(c))).ok).toBe(true);
    const runner = new ProjectionRunner(database, store, basketsProjection, {
      ...defaultRunnerOptions,
      owner: "deleted-streams",
      standbyRetryMs: 100,
      log,
    });
    runner.start();
    try {
      await projectionCaughtUp(database, store, "baskets");
      expect(runner.state).toBe("running");
    } finally {
      await runner.stop();
    }
    expect((await readModelBasket(database, c))?.view.id).toBe(c);
    expect(store.skippedRecords.deleted_stream).toBeGreaterThanOrEqual(2);
    const said = lines.filter((line) => String(line.msg).startsWith("passing over records"));
    expect(said).toHaveLength(1);
    expect(said[0]).toMatchObject({ reason: "deleted_stream", type: "$streamDeleted" });
  });
});
