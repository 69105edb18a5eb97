import { type Config, loadConfig } from "../../config.js";
import { type Database, type DatabaseConfig, openDatabase } from "../../db/database.js";
import { migrateToLatest } from "../../db/migrate.js";
import { EsdbEventStore } from "../../eventstore/esdb/esdb-event-store.js";
import type { EventStore } from "../../eventstore/port.js";
import { PostgresEventStore } from "../../eventstore/postgres/postgres-event-store.js";

export interface OpenedStore {
  store: EventStore;
  /**
   * The store's database, for the few questions the port does not answer (see range-size.ts);
   * undefined on EventStoreDB, whose log is not in a database.
   */
  database: Database | undefined;
  /**
   * Whether appends handed over together reach the log in the order they were made: so on
   * PostgreSQL and PGlite, one append transaction at a time; not so on EventStoreDB, where
   * concurrent appends race (an import then appends one at a time).
   */
  appendsInOrder: boolean;
  /** Where the store is, without credentials: for messages. */
  where: string;
  close(): Promise<void>;
}

/**
 * The event store the environment configures, as `serve` opens it (EVENT_STORE, DATABASE_URL,
 * PGLITE_DATA_DIR, ESDB_URL), migrated when it is a database. One append transaction at a time
 * (the adapter's default), which an import relies on: its appends then reach the log in the
 * order they were made.
 */
export async function openConfiguredStore(
  config: Pick<Config, "database" | "eventStore"> = loadConfig(),
): Promise<OpenedStore> {
  if (config.eventStore.kind === "esdb") return openEsdb(config.eventStore.url, config.eventStore.namespace);
  const where = describeDatabase(config.database);
  const database = await openDatabase(config.database).catch((error: unknown) => {
    throw new Error(`Cannot open the event store (${where}): ${reason(error)}`);
  });
  try {
    await migrateToLatest(database);
  } catch (error) {
    await database.close().catch(() => {});
    throw new Error(`Cannot reach the event store (${where}): ${reason(error)}`);
  }
  const store = new PostgresEventStore(database);
  return { store, database, appendsInOrder: true, where, close: () => store.close() };
}

async function openEsdb(url: string, namespace: string): Promise<OpenedStore> {
  const where = `EventStoreDB at ${new URL(url).host}`;
  const store = EsdbEventStore.connect(url, { namespace });
  // The client connects on first use: ask something small now, to fail here with a clear message.
  await store.readStream("basket-cli-probe").catch(async (error: unknown) => {
    await store.close().catch(() => {});
    throw new Error(`Cannot reach the event store (${where}): ${reason(error)}`);
  });
  return { store, database: undefined, appendsInOrder: false, where, close: () => store.close() };
}

function describeDatabase(config: DatabaseConfig): string {
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
