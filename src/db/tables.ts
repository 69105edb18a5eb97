import type { EventStoreTables } from "../eventstore/postgres/tables.js";
import type { ReadModelTables } from "../projections/tables.js";

/** Every table the migrations create, as kysely sees them. */
export type Tables = EventStoreTables & ReadModelTables;
