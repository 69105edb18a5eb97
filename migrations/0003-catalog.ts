import { type Kysely, sql } from "kysely";

/**
 * The catalog as the shop shows it (src/projections/catalog): each product's current name,
 * prices (minor units per currency), whether it is listed, and the revision of its stream. The
 * price history stays in the products' streams.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table products (
      sku text primary key,
      name text not null,
      prices jsonb not null,
      listed boolean not null,
      revision bigint not null,
      updated_at timestamptz not null
    )`.execute(db);
  // The shop's pages walk the listed products in sku order.
  await sql`create index products_listed on products (sku) where listed`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table products`.execute(db);
}
