import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Database, openDatabase } from "../../src/db/database.js";
import { type PrivatePostgres, startPrivatePostgres } from "../support/private-servers.js";

describe("the PostgreSQL connections across a server restart", () => {
  let postgres: PrivatePostgres;
  let database: Database;
  beforeAll(async () => {
    postgres = await startPrivatePostgres();
    database = await openDatabase({ kind: "postgres", url: postgres.url, poolSize: 2 });
  });
  afterAll(async () => {
    await database?.close();
    await postgres?.destroy();
  });

  it("a transaction whose connection dies fails alone; the pool connects again afterwards", async () => {
    const died = database.db.transaction().execute(async (trx) => {
      await sql`select 1`.execute(trx);
      // The server goes away between two statements: the client is checked out, not idle.
      await postgres.restart("immediate");
      await sql`select 2`.execute(trx);
    });
    await expect(died).rejects.toThrow();
    const { rows } = await sql<{ answer: number }>`select 42 as answer`.execute(database.db);
    expect(rows).toEqual([{ answer: 42 }]);
  });

  it("a LISTEN comes back by itself, and says so once, then hears notifications again", async () => {
    let heard = 0;
    const unlisten = await database.listen("reconnect_test", () => heard++);
    try {
      await sql`notify reconnect_test`.execute(database.db);
      await expect.poll(() => heard).toBe(1);
      await postgres.restart("fast");
      // Nothing announced what happened meanwhile: the listener is told to look once.
      await expect.poll(() => heard, { timeout: 10_000 }).toBe(2);
      await sql`notify reconnect_test`.execute(database.db);
      await expect.poll(() => heard).toBe(3);
    } finally {
      await unlisten();
    }
  });
});
