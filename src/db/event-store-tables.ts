import type { ColumnType, Selectable } from "kysely";

/**
 * The event store's tables (migrations/0001-event-store.ts), for the PostgreSQL adapter. int8 and
 * xid8 arrive as text (see src/db/database.ts); the adapter turns them into bigint.
 */
type Int8 = ColumnType<string, string, string>;
/** Set by the database on insert (recorded_at: unless an import gives it, in the adapter's own SQL). */
type Assigned<T> = ColumnType<T, never, never>;

export interface EventStoreTables {
  streams: { stream_id: string; revision: Int8 };
  events: {
    global_position: Assigned<string>;
    transaction_id: Assigned<string>;
    event_id: string;
    stream_id: string;
    stream_revision: Int8;
    type: string;
    /** JSON as the adapter wrote it (src/eventstore/postgres): it gives it its types back. */
    data: ColumnType<unknown, string, string>;
    metadata: ColumnType<unknown, string, string>;
    recorded_at: Assigned<Date>;
  };
}

export type EventRow = Selectable<EventStoreTables["events"]>;
