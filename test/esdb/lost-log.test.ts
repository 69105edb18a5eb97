import { randomUUID } from "node:crypto";
import { v7 as uuidv7 } from "uuid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BasketCommandHandler } from "../../src/commands/basket-command-handler.js";
import { loadConfig } from "../../src/config/config.js";
import { openDatabase } from "../../src/db/database.js";
import { CheckpointNotInLog } from "../../src/eventstore/errors.js";
import { EsdbEventStore } from "../../src/eventstore/esdb/esdb-event-store.js";
import type { Checkpoint, EventStore } from "../../src/eventstore/port.js";
import { projections } from "../../src/projections/all-projections.js";
import { eventRelay } from "../../src/projections/event-relay.js";
import { lagThroughStore } from "../../src/projections/log-lag.js";
import { rebuildProjection } from "../../src/projections/rebuild/rebuild-projection.js";
import { redeliver } from "../../src/projections/rebuild/redeliver.js";
import { type Running, serve } from "../../src/serve/serve.js";
import { type EsdbDouble, startEsdbDouble } from "../esdb-double/esdb-double.js";
import type { ServerVersion } from "../esdb-double/server-versions.js";
import { seedCatalog } from "../support/catalog.js";
import { createPostgresDatabase } from "../support/databases.js";
import { capturedLog } from "../support/log-lines.js";
import { projectionCaughtUp } from "../support/read-model.js";

/**
 * A checkpoint EventStoreDB's log does not hold — the server's database started anew, as an
 * in-memory one (EVENTSTORE_MEM_DB) does on every restart. Needs the double: only it loses its
 * log on cue. Reading on would skip events silently (a subscription past the end waits there);
 * the store says so instead.
 */
describe.each(["24.10", "22.10"] as ServerVersion[])(
  "a checkpoint not in EventStoreDB's log (%s)",
  (version) => {
    let double: EsdbDouble;
    let store: EsdbEventStore;
    beforeAll(async () => {
      double = await startEsdbDouble({ version });
      store = EsdbEventStore.connect(double.url);
    });
    afterAll(async () => {
      await store?.close();
      await double?.stop();
    });

    const append = (count: number) =>
      store.append(
        `lost-${randomUUID()}`,
        Array.from({ length: count }, (_, n) => ({ type: "Happened", data: { n } })),
        "no_stream",
      );
    const firstFollowed = async (store: EventStore, after: Checkpoint) => {
      const pages = store.follow({ after, limit: 10, pollMs: 100, signal: AbortSignal.timeout(5_000) });
      for await (const page of pages) return page;
      return undefined;
    };

    it("refuses to read or follow on from a checkpoint past the end of the log", async () => {
      const { checkpoint } = (await append(3)).events.at(-1) as { checkpoint: Checkpoint };
      await double.restart({ loseLog: true });
      await append(1);
      await expect(store.readAll({ after: checkpoint, limit: 10 })).rejects.toBeInstanceOf(
        CheckpointNotInLog,
      );
      const refused = await firstFollowed(store, checkpoint).catch((error) => error);
      expect(refused).toBeInstanceOf(CheckpointNotInLog);
      expect(refused.message).toMatch(/log ends before it/);
    });

    it("refuses one between two records of the log", async () => {
      const [first] = (await append(2)).events;
      const position = (first?.position ?? 0n) + 1n;
      const between = `esdb:${position}:${position}` as Checkpoint;
      await expect(store.readAll({ after: between, limit: 10 })).rejects.toBeInstanceOf(CheckpointNotInLog);
      const refused = await firstFollowed(store, between).catch((error) => error);
      expect(refused).toBeInstanceOf(CheckpointNotInLog);
      expect(refused.message).toMatch(/no record of EventStoreDB's log starts there/);
    });
  },
);

describe("a projector whose EventStoreDB lost its log", () => {
  let double: EsdbDouble;
  let store: EsdbEventStore;
  let database: { url: string; drop: () => Promise<void> };
  let projector: Running;
  const { log, lines } = capturedLog();
  beforeAll(async () => {
    double = await startEsdbDouble();
    store = EsdbEventStore.connect(double.url);
    database = await createPostgresDatabase();
    const config = loadConfig({
      EVENT_STORE: "esdb",
      ESDB_URL: double.url,
      DATABASE_URL: database.url,
      MIGRATE_ON_START: "true",
      PORT: "0",
    });
    projector = await serve("projector", config, log);
  });
  afterAll(async () => {
    await projector?.stop();
    await store?.close();
    await double?.stop();
    await database?.drop();
  });

  const ready = async () => {
    const response = await fetch(`${projector.url}/health/ready`);
    const { checks } = (await response.json()) as {
      checks: Record<string, { status: string; detail?: string }>;
    };
    return { status: response.status, projections: checks.projections };
  };

  it("stops its projections with the reason, and is ready again once they are rebuilt", async () => {
    const create = async () => {
      const basketId = uuidv7();
      const created = await new BasketCommandHandler(store).handle({
        commandId: uuidv7(),
        basketId,
        command: { type: "CreateBasket", data: { basketId } },
      });
      expect(created.ok).toBe(true);
    };
    for (let i = 0; i < 3; i++) await create();
    // And the catalog's own stream, so that every projection has a checkpoint in the log to lose.
    await seedCatalog(store, ["tea"]);
    const db = await openDatabase({ kind: "postgres", url: database.url });
    try {
      for (const { name } of projections) await projectionCaughtUp(db, store, name);
      await expect
        .poll(() => ready(), { timeout: 10_000 })
        .toMatchObject({ status: 200, projections: { status: "up" } });

      // Back with an empty log, and one event: shorter than the log the checkpoints were taken in.
      await double.restart({ loseLog: true });
      await create();
      await expect
        .poll(() => ready(), { timeout: 15_000, interval: 200 })
        .toMatchObject({
          status: 503,
          projections: {
            status: "down",
            detail: expect.stringMatching(/baskets: Checkpoint esdb:\d+:\d+ is not in the event store's log/),
          },
        });
      // Said once each, though each runner looks again every poll (the runners find it one by one).
      const stopped = () =>
        lines
          .filter((line) => String(line.msg).startsWith("projection stopped"))
          .map((line) => line.projection)
          .sort();
      await expect.poll(stopped, { timeout: 10_000 }).toEqual(projections.map(({ name }) => name).sort());

      // The way back: rebuild them from the log the server has now …
      const { checkpoint: stale } = await db.db
        .selectFrom("projection_checkpoints")
        .select("checkpoint")
        .where("name", "=", "baskets")
        .executeTakeFirstOrThrow();
      for (const projection of projections)
        await rebuildProjection(db, projection, { owner: "lost-log", batchSize: 100, eventStore: store });
      await expect
        .poll(() => ready(), { timeout: 15_000, interval: 200 })
        .toMatchObject({ status: 200, projections: { status: "up" } });
      // … and the event relay (no tables) publishes again from its start.
      await db.db
        .insertInto("projection_checkpoints")
        .values({ name: "event-relay", version: 1, checkpoint: stale })
        .execute();
      const again = await redeliver(db.db, eventRelay, undefined, "lost-log", lagThroughStore(store));
      expect(again).toMatchObject({ from: null, eventsToDeliver: 1 });
    } finally {
      await db.close();
    }
  });
});
