import type { EventStoreTables } from "./event-store-tables.js";
import type { ReadModelTables } from "./read-model-tables.js";

/** Every table the migrations create, as kysely sees them. */
export type Tables = EventStoreTables & ReadModelTables;
