import { type Kysely, type Selectable, sql } from "kysely";
import type { Tables } from "../db/tables.js";
import { decodeCursor, encodeCursor, isUuid } from "./cursor.js";

export type BasketStatus = "open" | "checked_out";

/** A basket as the query side shows it: amounts in minor units, times as ISO 8601 text. */
export interface BasketSummary {
  id: string;
  visitorId: string | null;
  status: BasketStatus;
  currency: string;
  lineCount: number;
  itemCount: number;
  total: number;
  revision: number;
  createdAt: string;
  updatedAt: string;
}

export interface BasketLineView {
  sku: string;
  name: string;
  unitPrice: number;
  quantity: number;
  lineTotal: number;
}

/** One basket with its lines, in the order they were first added. */
export type BasketView = Omit<BasketSummary, "lineCount"> & { lines: BasketLineView[] };

export interface ListBasketsQuery {
  visitorId?: string;
  status?: BasketStatus;
  /** The `nextCursor` of the previous page; a cursor this service did not make throws `InvalidCursor`. */
  after?: string;
  limit: number;
}

export interface BasketPage {
  items: BasketSummary[];
  /** Pass as `after` for the next page; null on the last page. */
  nextCursor: string | null;
}

export interface ProductPopularity {
  sku: string;
  timesAdded: number;
  timesRemoved: number;
  quantityInOpenBaskets: number;
  quantityCheckedOut: number;
}

const summaryColumns = [
  "id",
  "visitor_id",
  "status",
  "currency",
  "line_count",
  "item_count",
  "total",
  "revision",
  "created_at",
  "updated_at",
] as const;
type SummaryRow = Pick<Selectable<Tables["basket_view"]>, (typeof summaryColumns)[number]>;

/**
 * Reads of the read model (basket_view, basket_view_lines, product_popularity) that the
 * projections keep. Nothing here writes; a basket appears here shortly after its commands.
 */
export class BasketQueries {
  constructor(
    private readonly db: Kysely<Tables>,
    /**
     * Open baskets still empty after this long are no longer listed: a flood of created-and-left
     * baskets does not bury the real ones. Their events, and their own answer, stay.
     */
    private readonly hideEmptyAfterMs = 86_400_000,
  ) {}

  async getBasket(id: string): Promise<BasketView | undefined> {
    if (!isUuid(id)) return undefined;
    // One statement, so the lines are those of the same revision as the basket row: a projection
    // rewrites both in one transaction, and two queries could straddle it.
    const row = await this.db
      .selectFrom("basket_view")
      .select(summaryColumns)
      .select(
        sql<BasketLineView[]>`(
          select coalesce(json_agg(json_build_object(
            'sku', l.sku, 'name', l.name, 'unitPrice', l.unit_price,
            'quantity', l.quantity, 'lineTotal', l.line_total
          ) order by l.line_no), '[]')
          from basket_view_lines l where l.basket_id = basket_view.id
        )`.as("lines"),
      )
      .where("id", "=", id)
      .executeTakeFirst();
    if (!row) return undefined;
    const { lineCount: _, ...summary } = toSummary(row);
    return { ...summary, lines: row.lines };
  }

  /** Baskets in id order — creation order, the ids being UUIDv7 — a page at a time. */
  async listBaskets({ visitorId, status, after, limit }: ListBasketsQuery): Promise<BasketPage> {
    checkLimit(limit);
    let query = this.db
      .selectFrom("basket_view")
      .select(summaryColumns)
      .orderBy("id")
      // One more than asked tells whether another page follows, so the last page says so itself.
      .limit(limit + 1);
    if (visitorId !== undefined) query = query.where("visitor_id", "=", visitorId);
    if (status !== undefined) query = query.where("status", "=", status);
    if (after !== undefined) query = query.where("id", ">", decodeCursor(after));
    query = query.where((eb) =>
      eb.or([
        eb("item_count", ">", 0),
        eb("status", "!=", "open"),
        eb(
          "updated_at",
          ">=",
          sql<Date>`now() - ${this.hideEmptyAfterMs}::double precision * interval '1 millisecond'`,
        ),
      ]),
    );
    const rows = await query.execute();
    const items = rows.slice(0, limit).map(toSummary);
    const last = items.at(-1);
    return { items, nextCursor: rows.length > limit && last ? encodeCursor(last.id) : null };
  }

  /** Most checked out first, then most added, then by sku so that ties keep one order. */
  async popularProducts(limit: number): Promise<ProductPopularity[]> {
    checkLimit(limit);
    const rows = await this.db
      .selectFrom("product_popularity")
      .selectAll()
      .orderBy("quantity_checked_out", "desc")
      .orderBy("times_added", "desc")
      .orderBy("sku")
      .limit(limit)
      .execute();
    return rows.map((row) => ({
      sku: row.sku,
      timesAdded: Number(row.times_added),
      timesRemoved: Number(row.times_removed),
      quantityInOpenBaskets: Number(row.quantity_in_open_baskets),
      quantityCheckedOut: Number(row.quantity_checked_out),
    }));
  }

  /**
   * Open baskets with something in them, untouched for longer than `olderThanMs`, the longest
   * forgotten first. "Now" is the database's clock, the one the read model's times come from.
   */
  async abandonedBaskets(olderThanMs: number, limit: number): Promise<BasketSummary[]> {
    checkLimit(limit);
    if (!Number.isSafeInteger(olderThanMs) || olderThanMs < 0) {
      throw new RangeError(`olderThanMs must be a non-negative integer, not ${olderThanMs}`);
    }
    const rows = await this.db
      .selectFrom("basket_view")
      .select(summaryColumns)
      // Literals, not parameters, so the planner matches the partial index basket_view_abandoned.
      .where("status", "=", sql.lit("open"))
      .where("item_count", ">", sql.lit(0))
      .where(
        "updated_at",
        "<",
        sql<Date>`now() - ${olderThanMs}::double precision * interval '1 millisecond'`,
      )
      .orderBy("updated_at")
      .orderBy("id")
      .limit(limit)
      .execute();
    return rows.map(toSummary);
  }

  /** The revision each of these baskets has reached in the read model; absent ones are left out. */
  async revisionsOf(ids: readonly string[]): Promise<Map<string, bigint>> {
    const wanted = ids.filter(isUuid);
    if (wanted.length === 0) return new Map();
    const rows = await this.db
      .selectFrom("basket_view")
      .select(["id", "revision"])
      .where(sql<boolean>`id = any(${wanted}::uuid[])`)
      .execute();
    return new Map(rows.map((row) => [row.id, BigInt(row.revision)]));
  }
}

function checkLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1)
    throw new RangeError(`limit must be a positive integer, not ${limit}`);
}

// bigint columns arrive as text; amounts and revisions stay far below 2^53, so numbers are exact.
const toSummary = (row: SummaryRow): BasketSummary => ({
  id: row.id,
  visitorId: row.visitor_id,
  status: row.status,
  currency: row.currency,
  lineCount: row.line_count,
  itemCount: row.item_count,
  total: Number(row.total),
  revision: Number(row.revision),
  createdAt: row.created_at.toISOString(),
  updatedAt: row.updated_at.toISOString(),
});
