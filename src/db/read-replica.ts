import { Kysely, PostgresDialect, type PostgresPool } from "kysely";
import { describeError } from "../errors.js";
import { type PostgresConfig, postgresPool } from "./database.js";
import type { Tables } from "./tables.js";

/** Where the queries read now: the replica, or the primary since the replica stopped answering. */
export type ReadSource = { from: "replica" } | { from: "primary"; since: Date; why: string };

/** The read model as the query side reads it, from a streaming replica of the primary. */
export interface ReplicaReads {
  readonly db: Kysely<Tables>;
  readonly source: ReadSource;
  close(): Promise<void>;
}

/** While the replica does not answer, the queries read from the primary; it is tried again this often. */
export const replicaRetryMs = 5_000;

/**
 * Reads of the read model from a streaming replica (DATABASE_READ_URL), so that queries add no
 * load to the primary, which takes the appends. When the replica cannot be connected to — stopped,
 * restarting, unreachable — a query reads from the primary instead, and the replica is tried
 * again after `replicaRetryMs`: queries keep answering while a replica is down, as they did before
 * there was one; a query that was running on the replica as it went fails once (503). The choice
 * is made per connection taken from the pool, so each query reads from one server.
 *
 * The replica is behind the primary by its replay lag, and the primary is ahead of it: a read
 * that must see a revision checks what it read (src/http/routes/basket-queries.ts), whichever
 * server answered.
 */
export function openReplicaReads(
  replica: PostgresConfig,
  primary: PostgresConfig,
  onSwitch: (source: ReadSource) => void,
): ReplicaReads {
  const replicaPool = postgresPool(replica);
  const primaryPool = postgresPool(primary);
  let source: ReadSource = { from: "replica" };
  const switchTo = (next: ReadSource) => {
    if (next.from === source.from) return;
    source = next;
    onSwitch(next);
  };
  let replicaTriedAt = 0;
  const pool: PostgresPool = {
    options: {},
    async connect() {
      if (source.from === "replica" || Date.now() - replicaTriedAt >= replicaRetryMs) {
        replicaTriedAt = Date.now();
        try {
          const client = await replicaPool.connect();
          switchTo({ from: "replica" });
          return client;
        } catch (error) {
          switchTo({ from: "primary", since: new Date(), why: describeError(error) });
        }
      }
      return primaryPool.connect();
    },
    async end() {
      await Promise.all([replicaPool.end(), primaryPool.end()]);
    },
  };
  const db = new Kysely<Tables>({ dialect: new PostgresDialect({ pool }) });
  return {
    db,
    get source() {
      return source;
    },
    close: () => db.destroy(),
  };
}
