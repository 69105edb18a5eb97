import type { Kysely } from "kysely";
import { Migrator } from "kysely/migration";
import { migrations } from "../../migrations/index.js";
import type { Database } from "./database.js";

/** The schema is older than this code: a process that does not migrate refuses to run on it. */
export class SchemaNotUpToDate extends Error {
  override readonly name = "SchemaNotUpToDate";

  constructor(readonly pending: string[]) {
    super(
      `The database schema is not up to date (pending: ${pending.join(", ")}): ` +
        "run `basket migrate`, or set MIGRATE_ON_START=true",
    );
  }
}

const migrator = (database: Database) =>
  new Migrator({
    db: database.db as unknown as Kysely<unknown>,
    provider: { getMigrations: async () => migrations },
  });

/** Brings the schema up to date. Safe to run from several processes at once (kysely takes a lock). */
export async function migrateToLatest(database: Database): Promise<string[]> {
  const { error, results = [] } = await migrator(database).migrateToLatest();
  if (error) throw new Error("Database migration failed", { cause: error });
  return results.filter((result) => result.status === "Success").map((result) => result.migrationName);
}

/** Throws SchemaNotUpToDate when a migration has not run: an operator migrates a shared schema, not every process. */
export async function requireLatestSchema(database: Database): Promise<void> {
  const pending = (await migrator(database).getMigrations()).filter((migration) => !migration.executedAt);
  if (pending.length > 0) throw new SchemaNotUpToDate(pending.map((migration) => migration.name));
}
