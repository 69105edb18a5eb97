import { type Kysely, sql } from "kysely";
import type { Tables } from "../db/tables.js";

/**
 * The session-level advisory locks that say who works on a projection: the active runner holds
 * `runnerLock`, a rebuild holds `rebuildLock`. Keys are `hashtext` of a text, so any process can
 * name them; they live as long as the session that took them.
 */
export const runnerLock = (projection: string) => `projection:${projection}`;
export const rebuildLock = (projection: string) => `projection-rebuild:${projection}`;

export async function tryAdvisoryLock(db: Kysely<Tables>, key: string): Promise<boolean> {
  const { rows } = await sql<{ locked: boolean }>`
    select pg_try_advisory_lock(hashtext(${key})) as locked`.execute(db);
  return rows[0]?.locked === true;
}

export async function advisoryUnlock(db: Kysely<Tables>, key: string): Promise<void> {
  await sql`select pg_advisory_unlock(hashtext(${key}))`.execute(db);
}

export interface LockHolder {
  /** The backend process id of the session holding it. */
  pid: number;
  applicationName: string | null;
  clientAddress: string | null;
  since: Date | null;
}

/**
 * Who holds each of these advisory locks in this database now. pg_locks shows a bigint key as
 * two 32-bit halves (classid high, objid low, objsubid 1), so a negative hashtext has a classid
 * of 2^32-1; and it lists every database's locks, where other databases may use the same keys.
 */
export async function advisoryLockHolders(
  db: Kysely<Tables>,
  keys: readonly string[],
): Promise<Map<string, LockHolder>> {
  if (keys.length === 0) return new Map();
  const { rows } = await sql<{
    key: string;
    pid: number;
    application_name: string | null;
    client_addr: string | null;
    backend_start: Date | null;
  }>`
    with wanted as (select key, hashtext(key)::bigint as id from unnest(${keys}::text[]) as key)
    select wanted.key, l.pid, a.application_name, a.client_addr::text as client_addr, a.backend_start
    from wanted
    join pg_locks l
      on l.locktype = 'advisory' and l.granted and l.objsubid = 1
     and l.database = (select oid from pg_database where datname = current_database())
     and l.classid = ((wanted.id >> 32) & 4294967295)::oid
     and l.objid = (wanted.id & 4294967295)::oid
    left join pg_stat_activity a on a.pid = l.pid`.execute(db);
  return new Map(
    rows.map((row) => [
      row.key,
      {
        pid: row.pid,
        applicationName: row.application_name || null,
        clientAddress: row.client_addr,
        since: row.backend_start,
      },
    ]),
  );
}
