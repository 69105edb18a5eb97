import { type Kysely, sql } from "kysely";
import { v7 as uuidv7 } from "uuid";
import { readModelAdvancedChannel } from "../../src/db/channels.js";
import type { Tables } from "../../src/db/tables.js";

export interface LineRow {
  sku: string;
  name?: string;
  unitPrice: number;
  quantity: number;
  /** Defaults to the position in `lines`; give it to store lines out of sku order. */
  lineNo?: number;
}

export interface BasketRow {
  id?: string;
  visitorId?: string | null;
  status?: "open" | "checked_out";
  currency?: string;
  revision?: number;
  lines?: LineRow[];
  /** How long before the database's now() it was last changed, as a PostgreSQL interval ('2 hours'). */
  updatedAgo?: string;
}

/** Writes a basket into the read model the way a projection would, totals worked out from its lines. */
export async function insertBasket(db: Kysely<Tables>, basket: BasketRow = {}): Promise<string> {
  const id = basket.id ?? uuidv7();
  const lines = basket.lines ?? [];
  const updatedAt = sql<Date>`now() - ${basket.updatedAgo ?? "0 seconds"}::interval`;
  await db
    .insertInto("basket_view")
    .values({
      id,
      visitor_id: basket.visitorId ?? null,
      status: basket.status ?? "open",
      currency: basket.currency ?? "EUR",
      line_count: lines.length,
      item_count: lines.reduce((sum, line) => sum + line.quantity, 0),
      total: lines.reduce((sum, line) => sum + line.quantity * line.unitPrice, 0),
      revision: basket.revision ?? lines.length,
      created_at: sql<Date>`${updatedAt} - interval '1 minute'`,
      updated_at: updatedAt,
    })
    .execute();
  if (lines.length > 0) {
    await db
      .insertInto("basket_view_lines")
      .values(
        lines.map((line, index) => ({
          basket_id: id,
          line_no: line.lineNo ?? index,
          sku: line.sku,
          name: line.name ?? `Product ${line.sku}`,
          unit_price: line.unitPrice,
          quantity: line.quantity,
          line_total: line.unitPrice * line.quantity,
        })),
      )
      .execute();
  }
  return id;
}

export async function insertPopularity(
  db: Kysely<Tables>,
  rows: { sku: string; added: number; removed?: number; open?: number; checkedOut: number }[],
): Promise<void> {
  await db
    .insertInto("product_popularity")
    .values(
      rows.map((row) => ({
        sku: row.sku,
        times_added: row.added,
        times_removed: row.removed ?? 0,
        quantity_in_open_baskets: row.open ?? 0,
        quantity_checked_out: row.checkedOut,
      })),
    )
    .execute();
}

/** Moves a basket on in the read model, as a projection's batch would. */
export const setRevision = (db: Kysely<Tables>, id: string, revision: number) =>
  db.updateTable("basket_view").set({ revision, updated_at: sql`now()` }).where("id", "=", id).execute();

/** What the projection runner does at the commit of every batch. */
export const notifyReadModelAdvanced = (db: Kysely<Tables>) =>
  sql`select pg_notify(${readModelAdvancedChannel}, '')`.execute(db);

export async function emptyReadModel(db: Kysely<Tables>): Promise<void> {
  await db.deleteFrom("basket_view_lines").execute();
  await db.deleteFrom("basket_view").execute();
  await db.deleteFrom("product_popularity").execute();
}
