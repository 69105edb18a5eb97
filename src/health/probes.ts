import { type Kysely, sql } from "kysely";
import type { NatsConnection } from "nats";
import { type ReplicaReads, replicaRetryMs } from "../db/read-replica.js";
import type { EventStore } from "../eventstore/port.js";
import type { Probe } from "./readiness.js";

/** The database answers a query (through the pool the process works with). */
export const databaseProbe =
  <T>(db: Kysely<T>): Probe =>
  async () => {
    await sql`select 1`.execute(db);
    return undefined;
  };

/**
 * The queries' reads answer, and where from: the replica, or the primary while the replica does
 * not answer — still up, since queries are answered (src/db/read-replica.ts).
 */
export const readReplicaProbe =
  (reads: ReplicaReads): Probe =>
  async () => {
    await sql`select 1`.execute(reads.db);
    const { source } = reads;
    return source.from === "replica"
      ? "queries read from the replica"
      : `queries read from the primary since ${source.since.toISOString()}: the replica does not answer ` +
          `(${source.why}); it is tried again every ${replicaRetryMs / 1000} s`;
  };

/** The NATS connection is up and the server answers a ping; `detail`, if any, goes with "up". */
export const natsProbe =
  (nc: NatsConnection, detail?: string): Probe =>
  async () => {
    if (nc.isClosed()) throw new Error("the connection is closed");
    try {
      await nc.rtt();
    } catch (error) {
      throw new Error(
        `not connected to ${nc.getServer()} (${error instanceof Error ? error.message : error})`,
      );
    }
    return detail;
  };

/** The event store answers a read (of a stream nobody writes): for EventStoreDB, beside the database. */
export const eventStoreProbe =
  (store: EventStore): Probe =>
  async () => {
    await store.readStream("health-probe");
    return undefined;
  };
