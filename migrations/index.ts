import type { Migration } from "kysely/migration";
import * as eventStore from "./0001-event-store.js";
import * as readModel from "./0002-read-model.js";
import * as catalog from "./0003-catalog.js";

/** Listed here rather than read from the folder, so the same list works from source and from dist. */
export const migrations: Record<string, Migration> = {
  "0001-event-store": eventStore,
  "0002-read-model": readModel,
  "0003-catalog": catalog,
};
