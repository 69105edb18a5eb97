import { basketStreamPrefix } from "../../src/aggregates/basket/index.js";
import type { Database } from "../../src/db/database.js";
import type { EventStore } from "../../src/eventstore/port.js";
import { PostgresEventStore } from "../../src/eventstore/postgres/postgres-event-store.js";
import { lagThroughStore } from "../../src/projections/log-lag.js";
import { openTestDatabase } from "./databases.js";
import { startTestEsdb, type TestEsdb } from "./esdb.js";
import { countBasketEvents, countEvents } from "./read-model.js";

/** The event stores the end-to-end suites run on; the read model is in PostgreSQL either way. */
export const storeBackends = ["postgres", "esdb"] as const;
export type StoreBackend = (typeof storeBackends)[number];

export interface TestStore {
  backend: StoreBackend;
  /** The test's own PostgreSQL database: the read model, and on PostgreSQL the events too. */
  database: Database & { url?: string };
  store: EventStore;
  /** On EventStoreDB: the test double of this file, or the real server of ESDB_URL. */
  esdb: TestEsdb | undefined;
  /**
   * Events in the log — of the streams of this prefix when given (`basket-`: what the basket
   * projections read). Without one: every event on PostgreSQL, the basket streams' on EventStoreDB.
   */
  countEvents(streamPrefix?: string): Promise<number>;
  close(): Promise<void>;
}

export async function openTestStore(backend: StoreBackend, poolSize?: number): Promise<TestStore> {
  const database = await openTestDatabase("postgres", poolSize);
  if (backend === "postgres") {
    const store = new PostgresEventStore(database);
    return {
      backend,
      database,
      store,
      esdb: undefined,
      countEvents: (streamPrefix) =>
        streamPrefix === undefined ? countEvents(database) : countBasketEvents(database, streamPrefix),
      close: () => store.close(),
    };
  }
  const esdb = await startTestEsdb();
  const store = esdb.openStore();
  return {
    backend,
    database,
    store,
    esdb,
    countEvents: async (streamPrefix = basketStreamPrefix) =>
      (await lagThroughStore(store)(null, streamPrefix)).events,
    async close() {
      await store.close();
      await esdb.stop();
      await database.close();
    },
  };
}
