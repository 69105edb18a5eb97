import { type Kysely, sql } from "kysely";
import type { Tables } from "../db/tables.js";
import { InvalidCursor } from "./cursor.js";

/** A product as the shop shows it, from the read model. */
export interface ProductView {
  sku: string;
  name: string;
  /** Minor units per currency it is sold in. */
  prices: Record<string, number>;
  /** The product's stream revision the view is at. */
  revision: number;
  updatedAt: string;
}

export interface ProductPage {
  items: ProductView[];
  /** Pass as `after` for the next page; null on the last page. */
  nextCursor: string | null;
}

/**
 * The listed products, kept by the catalog projection: what the shop's pages show. A product
 * appears here shortly after it is listed or changed; the worker prices baskets from the
 * products' streams instead, which this follows.
 */
export class CatalogQueries {
  constructor(private readonly db: Kysely<Tables>) {}

  /** Listed products in sku order, a page at a time; with `currency`, only those sold in it. */
  async listProducts({
    currency,
    after,
    limit,
  }: {
    currency?: string | undefined;
    after?: string | undefined;
    limit: number;
  }): Promise<ProductPage> {
    let query = this.db
      .selectFrom("products")
      .selectAll()
      .where("listed", "=", sql.lit(true))
      .orderBy("sku")
      .limit(limit + 1);
    if (currency !== undefined) query = query.where(sql<boolean>`prices ? ${currency}`);
    if (after !== undefined) query = query.where("sku", ">", decodeSkuCursor(after));
    const rows = await query.execute();
    const items = rows.slice(0, limit).map(toView);
    const last = items.at(-1);
    return { items, nextCursor: rows.length > limit && last ? encodeSkuCursor(last.sku) : null };
  }

  /** One listed product; undefined when the shop does not sell it (never listed, or delisted). */
  async getProduct(sku: string): Promise<ProductView | undefined> {
    const row = await this.db
      .selectFrom("products")
      .selectAll()
      .where("sku", "=", sku)
      .where("listed", "=", sql.lit(true))
      .executeTakeFirst();
    return row ? toView(row) : undefined;
  }
}

const toView = (row: {
  sku: string;
  name: string;
  prices: Record<string, number>;
  revision: string;
  updated_at: Date;
}): ProductView => ({
  sku: row.sku,
  name: row.name,
  prices: row.prices,
  revision: Number(row.revision),
  updatedAt: row.updated_at.toISOString(),
});

/** The sku a page ended with, opaque to clients (base64url of `p:<sku>`). */
const encodeSkuCursor = (sku: string) => Buffer.from(`p:${sku}`, "utf8").toString("base64url");

function decodeSkuCursor(cursor: string): string {
  const text = Buffer.from(cursor, "base64url").toString("utf8");
  if (!text.startsWith("p:") || encodeSkuCursor(text.slice(2)) !== cursor) throw new InvalidCursor(cursor);
  return text.slice(2);
}
