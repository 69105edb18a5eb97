import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { basketStream } from "../../src/aggregates/basket/index.js";
import type { Database } from "../../src/db/database.js";
import { EsdbEventStore } from "../../src/eventstore/esdb/esdb-event-store.js";
import { basketsProjection } from "../../src/projections/baskets/baskets-projection.js";
import { defaultRunnerOptions, ProjectionRunner } from "../../src/projections/projection-runner.js";
import { type EsdbDouble, startEsdbDouble } from "../esdb-double/esdb-double.js";
import { openTestDatabase } from "../support/databases.js";
import { capturedLog } from "../support/log-lines.js";
import { projectionCaughtUp } from "../support/read-model.js";

/**
 * Before 24.10 a server drops a live subscription whose reader leaves more than 32 messages
 * unread ("consumer too slow"): a projection that falls behind loses its subscription and must
 * follow again from its checkpoint. Needs the double: it plays 22.10 and is made to fall behind.
 */
describe("a projection too slow for a live subscription on EventStoreDB 22.10", () => {
  let double: EsdbDouble;
  let store: EsdbEventStore;
  let database: Database;
  const { log, lines } = capturedLog();
  beforeAll(async () => {
    double = await startEsdbDouble({ version: "22.10" });
    store = EsdbEventStore.connect(double.url);
    database = await openTestDatabase("postgres");
  });
  afterAll(async () => {
    await store?.close();
    await double?.stop();
    await database?.close();
  });

  const created = (basketId: string) =>
    store.append(
      basketStream(basketId),
      [
        {
          type: "BasketCreated",
          data: { basketId, visitorId: `visitor-${"v".repeat(200)}`, currency: "EUR" },
        },
      ],
      "no_stream",
    );

  it("is dropped, follows again from its checkpoint, and applies every event once", async () => {
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const runner = new ProjectionRunner(database, store, basketsProjection, {
      ...defaultRunnerOptions,
      batchSize: 4,
      owner: "slow",
      standbyRetryMs: 100,
      log,
      // The first batch waits (inside its transaction) while the live events pile up.
      beforeCommit: () => held,
    });
    runner.start();
    try {
      await created(randomUUID());
      const baskets = 400;
      for (let i = 1; i < baskets; i++) await created(randomUUID());
      await expect.poll(() => double.log.all.length, { timeout: 10_000 }).toBe(baskets);
      release();
      await expect
        .poll(
          () =>
            lines.some((line) =>
              /Consumer too slow/.test(String((line.err as { message?: string })?.message)),
            ),
          {
            timeout: 20_000,
          },
        )
        .toBe(true);
      await projectionCaughtUp(database, store, "baskets", 30_000);
      const row = await database.db
        .selectFrom("projection_checkpoints")
        .selectAll()
        .where("name", "=", "baskets")
        .executeTakeFirstOrThrow();
      expect(Number(row.events_applied)).toBe(baskets);
      const { count } = await database.db
        .selectFrom("basket_view")
        .select((eb) => eb.fn.countAll<string>().as("count"))
        .executeTakeFirstOrThrow();
      expect(Number(count)).toBe(baskets);
    } finally {
      release();
      await runner.stop();
    }
  });
});
