import { type Kysely, sql } from "kysely";
import { Migrator } from "kysely/migration";
import { migrations } from "../../../migrations/index.js";
import type { Config } from "../../config.js";
import { type Database, type DatabaseConfig, openDatabase } from "../../db/database.js";
import { migrateToLatest } from "../../db/migrate.js";

/**
 * The configured database, reachable and with an up-to-date schema: migrated when the
 * configuration says to migrate at start (the default on PGlite), otherwise checked — an
 * operator's command does not change a shared schema unasked.
 */
export async function openReadModel(config: Config): Promise<Database> {
  const database = await openDatabase(config.database);
  try {
    await sql`select 1`.execute(database.db).catch((error: unknown) => {
      throw new Error(`Cannot reach the database at ${where(config.database)}: ${reason(error)}`);
    });
    if (config.migrateOnStart) await migrateToLatest(database);
    else await requireLatestSchema(database);
    return database;
  } catch (error) {
    await database.close().catch(() => {});
    throw error;
  }
}

async function requireLatestSchema(database: Database): Promise<void> {
  const migrator = new Migrator({
    db: database.db as unknown as Kysely<unknown>,
    provider: { getMigrations: async () => migrations },
  });
  const pending = (await migrator.getMigrations()).filter((migration) => !migration.executedAt);
  if (pending.length > 0)
    throw new Error(
      `The database schema is not up to date (pending: ${pending.map((m) => m.name).join(", ")}): ` +
        "run `basket migrate`, or set MIGRATE_ON_START=true",
    );
}

/** Host, port and database only: the URL may hold a password. */
function where(config: DatabaseConfig): string {
  if (config.kind === "pglite") return `PGlite ${config.dataDir}`;
  const url = new URL(config.url);
  return `${url.hostname}:${url.port || "5432"}${url.pathname}`;
}

function reason(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // Node reports a refused connection to several addresses as an AggregateError without a message.
  return error.message || (error as { code?: string }).code || error.name;
}
