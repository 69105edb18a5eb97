import { pino } from "pino";
import { v7 as uuidv7 } from "uuid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { basketStream, basketStreamPrefix } from "../../src/aggregates/basket/index.js";
import { BasketCommandHandler } from "../../src/commands/basket-command-handler.js";
import type { Database } from "../../src/db/database.js";
import { EsdbEventStore } from "../../src/eventstore/esdb/esdb-event-store.js";
import { decodeOutcome, encodeOutcome } from "../../src/nats/wire.js";
import { basketsProjection } from "../../src/projections/baskets/baskets-projection.js";
import { defaultRunnerOptions, ProjectionRunner } from "../../src/projections/projection-runner.js";
import { type EsdbDouble, startEsdbDouble } from "../esdb-double/esdb-double.js";
import { seedCatalog } from "../support/catalog.js";
import { openTestDatabase } from "../support/databases.js";
import { foldedBasket, projectionCaughtUp, readModelBasket } from "../support/read-model.js";

/**
 * A long-lived EventStoreDB: its `$all` positions are past 2^53 and a basket's stream stands at
 * revision 2^60 already (only the double can be given such a past). Every number must come
 * through exactly: a JavaScript number would round them.
 */
const firstPosition = 2n ** 60n + 123n;
const seededRevision = 2n ** 60n + 7n;

describe("revisions and positions above 2^53 on EventStoreDB", () => {
  let double: EsdbDouble;
  let store: EsdbEventStore;
  let database: Database;
  const basketId = uuidv7();
  const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

  beforeAll(async () => {
    double = await startEsdbDouble({ firstPosition });
    double.seedStream(basketStream(basketId), seededRevision, [
      {
        id: uuidv7(),
        type: "BasketCreated",
        contentType: "application/json",
        data: json({ basketId, visitorId: "v-1", currency: "EUR" }),
        customMetadata: json({ commandId: "seeded" }),
      },
    ]);
    store = EsdbEventStore.connect(double.url);
    // The catalog the basket is priced from: its events come after the basket's in `$all`.
    await seedCatalog(store, ["tea", "mug"]);
    database = await openTestDatabase("postgres");
  });
  afterAll(async () => {
    await store?.close();
    await double?.stop();
    await database?.close();
  });

  const runner = () =>
    new ProjectionRunner(database, store, basketsProjection, {
      ...defaultRunnerOptions,
      owner: "big-numbers",
      standbyRetryMs: 100,
      log: pino({ level: "silent" }),
    });
  const checkpointRow = () =>
    database.db
      .selectFrom("projection_checkpoints")
      .selectAll()
      .where("name", "=", "baskets")
      .executeTakeFirstOrThrow();

  it("appends, reads, checkpoints and projects them exactly, and resumes from the stored checkpoint", async () => {
    const [seeded] = await store.readStream(basketStream(basketId));
    expect(seeded).toMatchObject({ revision: seededRevision, position: firstPosition });
    expect(seeded?.position).toBeGreaterThan(BigInt(Number.MAX_SAFE_INTEGER));

    // A command on it: the handler folds the stream and appends at revision 2^60 + 7.
    const handler = new BasketCommandHandler(store);
    const add = (sku: string) =>
      handler.handle({
        commandId: uuidv7(),
        basketId,
        command: { type: "AddItem", data: { sku, quantity: 1 } },
      });
    const added = await add("tea");
    if (!added.ok) throw new Error(added.message);
    expect(added.revision).toBe(seededRevision + 1n);
    const appended = added.events[0];
    expect(appended?.position).toBeGreaterThan(firstPosition);
    // The NATS wire carries them as strings, and they come back the same.
    expect(decodeOutcome(encodeOutcome(added))).toEqual(added);
    expect(double.log.lastRevisionOf(`${basketStream(basketId)}`)).toBe(seededRevision + 1n);

    // The log hands out the exact checkpoint of each event.
    const page = await store.readAll({ limit: 10, streamPrefix: basketStreamPrefix });
    expect(page.events.map((event) => event.revision)).toEqual([seededRevision, seededRevision + 1n]);
    expect(page.checkpoint).toBe(`esdb:${appended?.position}:${appended?.position}`);
    const after = await store.readAll({
      after: seeded?.checkpoint,
      limit: 10,
      streamPrefix: basketStreamPrefix,
    });
    expect(after.events).toEqual([appended]);

    // The projection stores it in PostgreSQL as text, position and checkpoint alike.
    const first = runner();
    first.start();
    await projectionCaughtUp(database, store, "baskets");
    await first.stop();
    expect(await checkpointRow()).toMatchObject({
      checkpoint: page.checkpoint,
      position: String(appended?.position),
      events_applied: "2",
    });
    expect((await readModelBasket(database, basketId))?.revision).toBe(seededRevision + 1n);

    // A runner started later resumes from that checkpoint: only the new event is applied.
    const again = await add("mug");
    if (!again.ok) throw new Error(again.message);
    const second = runner();
    second.start();
    await projectionCaughtUp(database, store, "baskets");
    await second.stop();
    const row = await checkpointRow();
    expect(row).toMatchObject({ position: String(again.position), events_applied: "3" });
    expect(BigInt(row.position as string)).toBe(again.position);
    expect(await readModelBasket(database, basketId)).toEqual(await foldedBasket(store, basketId));
    expect((await readModelBasket(database, basketId))?.revision).toBe(seededRevision + 2n);
  });
});
