import { loadConfig } from "../../config.js";
import { type Database, type DatabaseConfig, openDatabase } from "../../db/database.js";
import { migrateToLatest } from "../../db/migrate.js";
import { PostgresEventStore } from "../../eventstore/postgres/postgres-event-store.js";

export interface OpenedStore {
  store: PostgresEventStore;
  /** The store's database, for the few questions the port does not answer (see range-size.ts). */
  database: Database;
  /** Where the store is, without credentials: for messages. */
  where: string;
  close(): Promise<void>;
}

/**
 * The event store the environment configures, as `serve` opens it (EVENT_STORE, DATABASE_URL,
 * PGLITE_DATA_DIR), migrated. One append transaction at a time (the adapter's default), which an
 * import relies on: its appends then reach the log in the order they were made.
 */
export async function openConfiguredStore(
  config: DatabaseConfig = loadConfig().database,
): Promise<OpenedStore> {
  const where = describeStore(config);
  const database = await openDatabase(config).catch((error: unknown) => {
    throw new Error(`Cannot open the event store (${where}): ${reason(error)}`);
  });
  try {
    await migrateToLatest(database);
  } catch (error) {
    await database.close().catch(() => {});
    throw new Error(`Cannot reach the event store (${where}): ${reason(error)}`);
  }
  const store = new PostgresEventStore(database);
  return { store, database, where, close: () => store.close() };
}

function describeStore(config: DatabaseConfig): string {
  if (config.kind === "pglite") return `PGlite in ${config.dataDir}`;
  const url = new URL(config.url);
  return `PostgreSQL at ${url.host}${url.pathname}`;
}

/**
 * What went wrong underneath: the migration wraps the driver's error, and pg reports a refused
 * connection as an AggregateError with an empty message and a code.
 */
function reason(error: unknown): string {
  let root = error;
  while (root instanceof Error && root.cause instanceof Error) root = root.cause;
  if (!(root instanceof Error)) return String(root);
  const code = (root as { code?: unknown }).code;
  const message =
    root.message || (root instanceof AggregateError ? String(root.errors[0]?.message ?? "") : "");
  if (typeof code === "string" && !message.includes(code)) return message ? `${message} (${code})` : code;
  return message || root.name;
}
