import { afterAll } from "vitest";
import type { AppendMode } from "../esdb-double/esdb-double.js";
import { realEsdbUrl, startTestEsdb } from "../support/esdb.js";
import { eventStoreContract } from "./contract.js";

// On the real server of ESDB_URL; without one, on the double in both of the client's ways to
// append: BatchAppend, which every server since 21.10 advertises, and the legacy Append.
const appendModes: (AppendMode | undefined)[] = realEsdbUrl ? [undefined] : ["batch", "legacy"];
const names = { batch: "BatchAppend", legacy: "legacy Append" };

for (const appendMode of appendModes) {
  const esdb = await startTestEsdb(appendMode ? { appendMode } : {});
  afterAll(() => esdb.stop());
  eventStoreContract(appendMode ? `EventStoreDB, ${names[appendMode]}` : "EventStoreDB", async () =>
    esdb.openStore(),
  );
}
