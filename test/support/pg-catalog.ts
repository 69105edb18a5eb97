// What PostgreSQL's catalog says of the read model, for tests of rebuilds (which swap tables in).
import { sql } from "kysely";
import type { Database } from "../../src/db/database.js";

/** The OIDs of tables: a switch-over gives them new ones. */
export async function tableOids(database: Database, tables: readonly string[]) {
  const { rows } = await sql<{ oid: number }>`
    select c.oid::int8 as oid from unnest(${tables}::text[]) with ordinality as t(name, n)
    join pg_class c on c.relname = t.name and c.relnamespace = 'public'::regnamespace
    order by t.n`.execute(database.db);
  return rows.map((row) => String(row.oid));
}

/** Schemas a rebuild may leave behind. */
export async function rebuildSchemas(database: Database) {
  const { rows } = await sql<{ nspname: string }>`
    select nspname from pg_namespace where nspname like 'rebuild\\_%' order by nspname`.execute(database.db);
  return rows.map((row) => row.nspname);
}
