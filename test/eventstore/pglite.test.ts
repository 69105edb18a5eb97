import { PostgresEventStore } from "../../src/eventstore/postgres/postgres-event-store.js";
import { openTestDatabase } from "../support/databases.js";
import { eventStoreContract } from "./contract.js";

eventStoreContract("PGlite", async () => new PostgresEventStore(await openTestDatabase("pglite")));
