import type { Kysely } from "kysely";
import { Migrator } from "kysely/migration";
import { migrations } from "../../migrations/index.js";
import type { Database } from "./database.js";

/** Brings the schema up to date. Safe to run from several processes at once (kysely takes a lock). */
export async function migrateToLatest(database: Database): Promise<string[]> {
  const migrator = new Migrator({
    db: database.db as unknown as Kysely<unknown>,
    provider: { getMigrations: async () => migrations },
  });
  const { error, results = [] } = await migrator.migrateToLatest();
  if (error) throw new Error("Database migration failed", { cause: error });
  return results.filter((result) => result.status === "Success").map((result) => result.migrationName);
}
