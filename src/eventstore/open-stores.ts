import { sql } from "kysely";
import type { Logger } from "pino";
import { type Database, type DatabaseConfig, openDatabase, type PostgresConfig } from "../db/database.js";
import { migrateToLatest, requireLatestSchema } from "../db/migrate.js";
import { describeError } from "../errors.js";
import { EsdbEventStore } from "./esdb/esdb-event-store.js";
import type { EventStore } from "./port.js";
import { PostgresEventStore } from "./postgres/postgres-event-store.js";

/**
 * Where the events are: in the database, beside the read model (PostgreSQL or PGlite), or in
 * EventStoreDB, the read model staying in PostgreSQL.
 */
export type EventStoreConfig = { kind: "database" } | { kind: "esdb"; url: string; namespace: string };

export interface StoreConfig {
  /** The read model's database; also the event store's unless `eventStore` says EventStoreDB. */
  database: DatabaseConfig;
  /**
   * A streaming replica of `database` (DATABASE_READ_URL), which the API's queries read the read
   * model from (src/db/read-replica.ts); everything else stays on `database`. Absent: no replica.
   */
  readReplica: PostgresConfig | undefined;
  eventStore: EventStoreConfig;
  /** Append transactions in flight per process (group commit batches what waits behind them). */
  appendConcurrency: number;
  /**
   * Bring the schema up to date when opening (the default on PGlite, where nobody else would);
   * otherwise the schema must already be up to date — an operator migrates a shared database.
   */
  migrateOnStart: boolean;
}

export interface Stores {
  /** The read model's database (and the event store's, unless on EventStoreDB). */
  database: Database;
  store: EventStore;
  /**
   * Whether appends handed over together reach the log in the order they were made: so on
   * PostgreSQL and PGlite (one append transaction at a time by default); not on EventStoreDB,
   * where concurrent appends race (an import then appends one at a time).
   */
  appendsInOrder: boolean;
  /** Whether the events are in `database` (PostgreSQL, PGlite) rather than in EventStoreDB. */
  logInDatabase: boolean;
  /** Where the events are, without credentials: for messages. */
  where: string;
  /** Records of the log passed over by reason (EventStoreDB's that are not events of this service). */
  skippedRecords(): Readonly<Record<string, number>>;
  /** Closes the event store and the database. */
  close(): Promise<void>;
}

/** The database or the event store cannot be reached; the message says which and why. */
export class StoreUnreachable extends Error {
  override readonly name = "StoreUnreachable";
}

/**
 * The one way a process opens its stores — `serve`, every CLI command, the demo: the database
 * (reachable, migrated or checked as `migrateOnStart` says) and the event store beside it.
 */
export async function openStores(config: StoreConfig, log?: Pick<Logger, "warn">): Promise<Stores> {
  const where = describeDatabase(config.database);
  const database = await openDatabase(config.database).catch((error: unknown) => {
    throw new StoreUnreachable(`Cannot open the database (${where}): ${describeError(error)}`);
  });
  try {
    await sql`select 1`.execute(database.db).catch((error: unknown) => {
      throw new StoreUnreachable(`Cannot reach the database (${where}): ${describeError(error)}`);
    });
    if (config.migrateOnStart) await migrateToLatest(database);
    else await requireLatestSchema(database);
    if (config.eventStore.kind === "esdb") {
      const esdb = await connectEsdb(config.eventStore, log);
      return {
        database,
        store: esdb.store,
        appendsInOrder: false,
        logInDatabase: false,
        where: esdb.where,
        skippedRecords: () => esdb.store.skippedRecords,
        close: async () => {
          await esdb.store.close();
          await database.close();
        },
      };
    }
    const store = new PostgresEventStore(database, { maxConcurrentTransactions: config.appendConcurrency });
    // One append transaction at a time keeps handed-over appends in order (see Stores).
    return {
      database,
      store,
      appendsInOrder: config.appendConcurrency === 1,
      logInDatabase: true,
      where,
      skippedRecords: () => ({}),
      close: () => store.close(),
    };
  } catch (error) {
    await database.close().catch(() => {});
    throw error;
  }
}

async function connectEsdb(config: Extract<EventStoreConfig, { kind: "esdb" }>, log?: Pick<Logger, "warn">) {
  const where = `EventStoreDB at ${new URL(config.url).host}`;
  const store = EsdbEventStore.connect(config.url, { namespace: config.namespace, ...(log ? { log } : {}) });
  // The client connects on first use: ask something small now, to fail here with a clear message.
  await store.readStream("basket-probe").catch(async (error: unknown) => {
    await store.close().catch(() => {});
    throw new StoreUnreachable(`Cannot reach the event store (${where}): ${describeError(error)}`);
  });
  return { store, where };
}

/** Host, port and database only: the URL may hold a password. */
function describeDatabase(config: DatabaseConfig): string {
  if (config.kind === "pglite") return `PGlite in ${config.dataDir}`;
  const url = new URL(config.url);
  return `PostgreSQL at ${url.hostname}:${url.port || "5432"}${url.pathname}`;
}
