import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../src/db/database.js";
import type { Checkpoint, RecordedEvent } from "../../src/eventstore/port.js";
import { PostgresEventStore } from "../../src/eventstore/postgres/postgres-event-store.js";
import { openTestDatabase } from "../support/databases.js";

/**
 * A reader following the global log must not skip an event whose transaction commits after a
 * higher-positioned event became visible. Two real transactions, the lower one committing last.
 * GAP_TEST_REPEATS=100 runs each scenario 100 times in a row.
 */
const repeats = Number(process.env.GAP_TEST_REPEATS ?? 3) - 1;

describe("the global log is gap-safe on PostgreSQL", () => {
  let database: Database & { url?: string };
  let store: PostgresEventStore;
  let slow: pg.Client;

  beforeAll(async () => {
    database = await openTestDatabase("postgres");
    store = new PostgresEventStore(database);
    slow = new pg.Client({ connectionString: database.url });
    await slow.connect();
  });
  afterAll(async () => {
    await slow?.end();
    await store?.close();
  });

  /** A reader like a projection: keeps its checkpoint and reads whatever is new. */
  const reader = (prefix: string) => {
    let after: Checkpoint | undefined;
    const seen: RecordedEvent[] = [];
    return {
      seen,
      async poll() {
        const page = await store.readAll({ after, limit: 100, streamPrefix: prefix });
        seen.push(...page.events);
        after = page.checkpoint;
        return page.events;
      },
      /** xmin is the whole server's: another test's open transaction may hold the log back a while. */
      async pollUntil(count: number) {
        const deadline = Date.now() + 10_000;
        while (seen.length < count && Date.now() < deadline) {
          if ((await this.poll()).length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
        }
        await this.poll(); // and nothing more arrives
      },
    };
  };

  /** Appends an event the way the store does, inside the slow client's open transaction. */
  const insertInOpenTransaction = (stream: string, n: number) =>
    slow.query(
      `insert into events (event_id, stream_id, stream_revision, type, data, metadata)
       values ($1, $2, 0, 'Happened', $3, '{}') returning global_position`,
      [randomUUID(), stream, JSON.stringify({ n })],
    );

  it("delivers both when the transaction holding the lower position commits last", { repeats }, async () => {
    const prefix = `gap-${randomUUID()}-`;
    const log = reader(prefix);
    await slow.query("begin");
    const { rows } = await insertInOpenTransaction(`${prefix}slow`, 1);
    const fast = await store.append(`${prefix}fast`, [{ type: "Happened", data: { n: 2 } }], "no_stream");
    expect(BigInt(rows[0].global_position)).toBeLessThan(fast.position);

    expect(await log.poll()).toEqual([]);
    // The reader is told to look again soon rather than wait for a notification.
    expect(await store.readAll({ limit: 10, streamPrefix: prefix })).toMatchObject({
      events: [],
      pending: true,
    });
    await slow.query("commit");
    await log.pollUntil(2);

    expect(log.seen.map((e) => e.data)).toEqual([{ n: 1 }, { n: 2 }]);
  });

  it("delivers both when the older transaction takes the higher position and commits last", {
    repeats,
  }, async () => {
    const prefix = `gap-${randomUUID()}-`;
    const log = reader(prefix);
    await slow.query("begin");
    await slow.query("select pg_current_xact_id()");
    const fast = await store.append(`${prefix}fast`, [{ type: "Happened", data: { n: 1 } }], "no_stream");
    const { rows } = await insertInOpenTransaction(`${prefix}slow`, 2);
    expect(BigInt(rows[0].global_position)).toBeGreaterThan(fast.position);

    expect(await log.poll()).toEqual([]);
    await slow.query("commit");
    await log.pollUntil(2);

    // Log order is commit-safe order: the older transaction first, whatever its position.
    expect(log.seen.map((e) => e.data)).toEqual([{ n: 2 }, { n: 1 }]);
    const again = reader(prefix);
    await again.poll();
    expect(again.seen.map((e) => e.id)).toEqual(log.seen.map((e) => e.id));
  });
});
