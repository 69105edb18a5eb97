import { type Kysely, sql } from "kysely";

/**
 * The read model the query endpoints answer from, kept by projections (src/projections), and
 * the projections' checkpoints. Amounts are integer minor units.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table projection_checkpoints (
      name text primary key,
      version integer not null,
      checkpoint text,
      position bigint,
      events_applied bigint not null default 0,
      owner text,
      updated_at timestamptz not null default now()
    )`.execute(db);

  await sql`
    create table basket_view (
      id uuid primary key,
      visitor_id text,
      status text not null check (status in ('open', 'checked_out')),
      currency text not null,
      line_count integer not null,
      item_count integer not null,
      total bigint not null,
      revision bigint not null,
      created_at timestamptz not null,
      updated_at timestamptz not null,
      checked_out_at timestamptz
    )`.execute(db);
  await sql`create index basket_view_by_visitor on basket_view (visitor_id, id)`.execute(db);
  await sql`create index basket_view_by_status on basket_view (status, id)`.execute(db);
  await sql`create index basket_view_abandoned on basket_view (updated_at) where status = 'open' and item_count > 0`.execute(
    db,
  );
  await sql`
    create table basket_view_lines (
      basket_id uuid not null references basket_view (id) on delete cascade,
      line_no integer not null,
      sku text not null,
      name text not null,
      unit_price bigint not null,
      quantity integer not null,
      line_total bigint not null,
      primary key (basket_id, sku)
    )`.execute(db);

  await sql`
    create table product_popularity (
      sku text primary key,
      times_added bigint not null default 0,
      times_removed bigint not null default 0,
      quantity_in_open_baskets bigint not null default 0,
      quantity_checked_out bigint not null default 0
    )`.execute(db);
  await sql`create index product_popularity_ranking on product_popularity (quantity_checked_out desc, times_added desc, sku)`.execute(
    db,
  );
  // The popularity projection's own memory of each basket, so it can tell what a removal took away.
  await sql`
    create table product_popularity_baskets (
      basket_id uuid primary key,
      revision bigint not null,
      state jsonb not null
    )`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of [
    "product_popularity_baskets",
    "product_popularity",
    "basket_view_lines",
    "basket_view",
    "projection_checkpoints",
  ]) {
    await sql`drop table ${sql.table(table)}`.execute(db);
  }
}
