import type { Logger } from "pino";
import type { EventStoreConfig } from "../config.js";
import { type Database, type DatabaseConfig, openDatabase } from "../db/database.js";
import { migrateToLatest } from "../db/migrate.js";
import { EsdbEventStore } from "./esdb/esdb-event-store.js";
import type { EventStore } from "./port.js";
import { PostgresEventStore } from "./postgres/postgres-event-store.js";

export interface EventStoreChoice {
  database: DatabaseConfig;
  eventStore: EventStoreConfig;
  /** Append transactions in flight (PostgreSQL and PGlite). */
  appendConcurrency?: number;
}

/**
 * The configured event store beside an open database: in it (PostgreSQL, PGlite), or in
 * EventStoreDB with a connection of its own. `close` closes that connection and leaves the
 * database, which the caller opened and closes.
 */
export function eventStoreBeside(
  database: Database,
  config: EventStoreChoice,
  log?: Pick<Logger, "warn">,
): {
  store: EventStore;
  close(): Promise<void>;
  /** Records of the log passed over by reason (EventStoreDB's that are not events of this service). */
  skippedRecords(): Readonly<Record<string, number>>;
} {
  if (config.eventStore.kind === "esdb") {
    const store = EsdbEventStore.connect(config.eventStore.url, {
      namespace: config.eventStore.namespace,
      ...(log ? { log } : {}),
    });
    return { store, close: () => store.close(), skippedRecords: () => store.skippedRecords };
  }
  const store = new PostgresEventStore(database, {
    maxConcurrentTransactions: config.appendConcurrency ?? 1,
  });
  return { store, close: async () => {}, skippedRecords: () => ({}) };
}

/** The configured event store on its own (the database migrated first when asked); closing it closes what it opened. */
export async function openEventStore(
  config: EventStoreChoice,
  options: { migrate: boolean },
): Promise<EventStore> {
  if (config.eventStore.kind === "esdb")
    return EsdbEventStore.connect(config.eventStore.url, { namespace: config.eventStore.namespace });
  const database = await openDatabase(config.database);
  try {
    if (options.migrate) await migrateToLatest(database);
    return new PostgresEventStore(database, { maxConcurrentTransactions: config.appendConcurrency ?? 1 });
  } catch (error) {
    await database.close();
    throw error;
  }
}
