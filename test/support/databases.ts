import { randomBytes } from "node:crypto";
import pg from "pg";
import { type Database, openDatabase } from "../../src/db/database.js";
import { migrateToLatest } from "../../src/db/migrate.js";

/** The server the tests create their databases on; CI starts it (see .ci/run). */
export const testServerUrl = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

const urlFor = (name: string) => {
  const url = new URL(testServerUrl);
  url.pathname = `/${name}`;
  return url.toString();
};

async function asAdmin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: testServerUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** A fresh, empty PostgreSQL database of the test's own; `drop` removes it. */
export async function createPostgresDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `test_${Date.now().toString(36)}_${randomBytes(4).toString("hex")}`;
  await asAdmin((client) => client.query(`create database ${name}`));
  return {
    url: urlFor(name),
    drop: () =>
      asAdmin((client) => client.query(`drop database if exists ${name} with (force)`)).then(() => {}),
  };
}

export type Backend = "postgres" | "pglite";

/** A migrated database on the given backend; closing it also deletes it. */
export async function openTestDatabase(backend: Backend, poolSize = 8): Promise<Database & { url?: string }> {
  if (backend === "pglite") {
    const database = await openDatabase({ kind: "pglite", dataDir: "memory://" });
    await migrateToLatest(database);
    return database;
  }
  const { url, drop } = await createPostgresDatabase();
  const database = await openDatabase({ kind: "postgres", url, poolSize });
  await migrateToLatest(database);
  return {
    ...database,
    url,
    close: async () => {
      await database.close();
      await drop();
    },
  };
}
