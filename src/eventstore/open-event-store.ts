import { type DatabaseConfig, openDatabase } from "../db/database.js";
import { migrateToLatest } from "../db/migrate.js";
import type { EventStore } from "./port.js";
import { PostgresEventStore } from "./postgres/postgres-event-store.js";

/** The configured event store backend, migrated first when asked. */
export async function openEventStore(
  config: DatabaseConfig,
  options: { migrate: boolean; appendConcurrency?: number },
): Promise<EventStore> {
  const database = await openDatabase(config);
  try {
    if (options.migrate) await migrateToLatest(database);
    return new PostgresEventStore(database, { maxConcurrentTransactions: options.appendConcurrency ?? 1 });
  } catch (error) {
    await database.close();
    throw error;
  }
}
