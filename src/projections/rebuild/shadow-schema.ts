import { type Kysely, sql, type Transaction } from "kysely";
import type { Tables } from "../../db/tables.js";

/**
 * The shadow schema a rebuild builds a projection's tables in, while the live tables in
 * `public` keep answering queries. Its tables are copies of the live ones — columns, defaults,
 * checks, keys, indexes, foreign keys and grants, under the same names — so that moving them
 * into `public` at the switch-over leaves the schema exactly as the migrations made it.
 */

/** `rebuild_<name>`, with anything but letters, digits and `_` made `_`. */
export function shadowSchemaName(projection: string): string {
  const schema = `rebuild_${projection.toLowerCase().replace(/[^a-z0-9_]/g, "_")}`;
  if (schema.length > 63) throw new Error(`Projection name ${projection} is too long for a schema name`);
  return schema;
}

const live = "public";

/** Creates the schema and an empty copy of each live table in it. Run it in a transaction. */
export async function createShadow(
  trx: Transaction<Tables>,
  schema: string,
  tables: readonly string[],
): Promise<void> {
  await refuseOutsideReferences(trx, tables);
  // Definitions are read with only `public` on the path, so a foreign key prints its target
  // unqualified; created with the shadow first on the path, it then refers to the shadow's copy
  // when the target is one of the rebuilt tables, and to the live table otherwise.
  await sql`set local search_path = public`.execute(trx);
  const { rows: constraints } = await sql<{ table: string; name: string; definition: string }>`
    select c.relname as table, con.conname as name, pg_get_constraintdef(con.oid) as definition
    from pg_constraint con
    join pg_class c on c.oid = con.conrelid
    join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = ${live} and c.relname = any(${tables}::text[]) and con.contype in ('p', 'u', 'x', 'f')
    -- keys first: a foreign key needs the key it refers to
    order by con.contype = 'f', c.relname, con.conname`.execute(trx);
  const { rows: indexes } = await sql<{ definition: string; from: string; to: string }>`
    select pg_get_indexdef(x.indexrelid) as definition,
           format(' ON %I.%I USING ', n.nspname, c.relname) as from,
           format(' ON %I.%I USING ', ${schema}::text, c.relname) as to
    from pg_index x
    join pg_class c on c.oid = x.indrelid
    join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = ${live} and c.relname = any(${tables}::text[])
      and not exists (
        select 1 from pg_constraint con
        where con.conindid = x.indexrelid and con.conrelid = x.indrelid and con.contype in ('p', 'u', 'x'))
    order by c.relname, x.indexrelid`.execute(trx);
  const { rows: grants } = await sql<{
    table: string;
    privilege: string;
    grantee: string;
    grantable: boolean;
  }>`
    select c.relname as table, a.privilege_type as privilege, a.is_grantable as grantable,
           case when a.grantee = 0 then 'public' else quote_ident(r.rolname) end as grantee
    from pg_class c
    join pg_namespace n on n.oid = c.relnamespace
    cross join lateral aclexplode(c.relacl) a
    left join pg_roles r on r.oid = a.grantee
    where n.nspname = ${live} and c.relname = any(${tables}::text[]) and a.grantee <> c.relowner`.execute(
    trx,
  );

  await sql`create schema ${sql.id(schema)}`.execute(trx);
  await sql`set local search_path = ${sql.id(schema)}, public`.execute(trx);
  for (const table of tables) {
    // Indexes come below under their live names; LIKE would make up names of its own.
    await sql`
      create table ${sql.id(schema, table)}
        (like ${sql.id(live, table)} including all excluding indexes)`.execute(trx);
  }
  for (const { table, name, definition } of constraints) {
    await sql`alter table ${sql.id(schema, table)} add constraint ${sql.id(name)} ${sql.raw(definition)}`.execute(
      trx,
    );
  }
  for (const { definition, from, to } of indexes) {
    if (definition.split(from).length !== 2)
      throw new Error(`Cannot place index in ${schema}: unexpected definition ${definition}`);
    await sql.raw(definition.replace(from, to)).execute(trx);
  }
  for (const { table, privilege, grantee, grantable } of grants) {
    if (!/^[A-Z ]+$/.test(privilege)) throw new Error(`Unexpected privilege ${privilege} on ${table}`);
    await sql`grant ${sql.raw(privilege)} on ${sql.id(schema, table)} to ${sql.raw(grantee)}${
      grantable ? sql` with grant option` : sql``
    }`.execute(trx);
  }
}

/** A table outside the rebuilt ones that refers to one of them would stop it being dropped. */
async function refuseOutsideReferences(trx: Transaction<Tables>, tables: readonly string[]): Promise<void> {
  const { rows } = await sql<{ referrer: string; name: string; target: string }>`
    select format('%I.%I', rn.nspname, r.relname) as referrer, con.conname as name, t.relname as target
    from pg_constraint con
    join pg_class t on t.oid = con.confrelid
    join pg_namespace tn on tn.oid = t.relnamespace
    join pg_class r on r.oid = con.conrelid
    join pg_namespace rn on rn.oid = r.relnamespace
    where con.contype = 'f' and tn.nspname = ${live} and t.relname = any(${tables}::text[])
      and not (rn.nspname = ${live} and r.relname = any(${tables}::text[]))`.execute(trx);
  const [first] = rows;
  if (first)
    throw new Error(
      `${first.referrer} refers to ${first.target} (foreign key ${first.name}): a rebuild cannot replace ${first.target}`,
    );
}

/**
 * The shape of tables in a schema — columns with types and nullability, constraint and index
 * names — to tell whether an interrupted rebuild's shadow still matches the live tables (a
 * migration may have run since).
 */
export async function tableShapes(
  db: Kysely<Tables>,
  schema: string,
  tables: readonly string[],
): Promise<Map<string, string>> {
  const { rows } = await sql<{ table: string; shape: string }>`
    select c.relname as table, concat_ws(' | ',
      (select string_agg(format('%s %s%s', a.attname, format_type(a.atttypid, a.atttypmod),
                                case when a.attnotnull then ' not null' else '' end), ', ' order by a.attnum)
       from pg_attribute a where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped),
      (select string_agg(con.conname || ' ' || con.contype::text, ', ' order by con.conname)
       from pg_constraint con where con.conrelid = c.oid),
      (select string_agg(i.relname, ', ' order by i.relname)
       from pg_index x join pg_class i on i.oid = x.indexrelid where x.indrelid = c.oid)) as shape
    from pg_class c
    join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = ${schema} and c.relkind = 'r'`.execute(db);
  const wanted = new Set(tables);
  const shapes = new Map(rows.map((row) => [row.table, row.shape]));
  // Anything else in the shadow schema is unexpected and counts as a difference.
  for (const table of shapes.keys()) if (!wanted.has(table)) shapes.set(table, "unexpected");
  return shapes;
}

export async function schemaExists(db: Kysely<Tables>, schema: string): Promise<boolean> {
  const { rows } = await sql<{ found: boolean }>`
    select exists (select 1 from pg_namespace where nspname = ${schema}) as found`.execute(db);
  return rows[0]?.found === true;
}

export async function dropShadow(trx: Kysely<Tables>, schema: string): Promise<void> {
  await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(trx);
}

/**
 * Takes the live tables for the switch-over: waits for the live runner's batch in flight (and
 * queries) to end, and holds the next ones until commit — they then see the new tables.
 */
export async function lockLiveTables(trx: Transaction<Tables>, tables: readonly string[]): Promise<void> {
  await sql`lock table ${sql.join(tables.map((table) => sql.id(live, table)))} in access exclusive mode`.execute(
    trx,
  );
}

/** Drops the live tables and moves the shadow's into their place; the empty shadow schema goes too. */
export async function swapIn(
  trx: Transaction<Tables>,
  schema: string,
  tables: readonly string[],
): Promise<void> {
  // No cascade: whatever else depends on a live table (a view, say) stops the switch-over.
  await sql`drop table ${sql.join(tables.map((table) => sql.id(live, table)))}`.execute(trx);
  for (const table of tables) await sql`alter table ${sql.id(schema, table)} set schema public`.execute(trx);
  await sql`drop schema ${sql.id(schema)}`.execute(trx);
}
