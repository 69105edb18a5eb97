import { afterAll } from "vitest";
import { startTestEsdb } from "../support/esdb.js";
import { eventStoreContract } from "./contract.js";

// On the test double, or on the real server of ESDB_URL.
const esdb = await startTestEsdb();
afterAll(() => esdb.stop());

eventStoreContract("EventStoreDB", async () => esdb.openStore());
