import type { Transaction } from "kysely";
import { evolve, initialProduct, type Product, productStreamPrefix } from "../../aggregates/product/index.js";
import type { Tables } from "../../db/tables.js";
import { toProductEvent } from "../../events/index.js";
import type { RecordedEvent } from "../../eventstore/port.js";
import { chunks } from "../basket-events.js";
import type { Projection } from "../projection.js";

interface ProjectedProduct {
  product: Product;
  revision: bigint;
  updatedAt: Date;
}

/**
 * `products`: each product as the catalog's own `evolve` folds its stream — what the shop's
 * pages list (GET /products). Prices are looked up here by the shop, never by the worker: a
 * basket is priced from the product's stream, which this table follows a little behind.
 */
export const catalogProjection: Projection = {
  name: "catalog",
  version: 1,
  streamPrefix: productStreamPrefix,
  tables: ["products"],

  async apply(trx, events) {
    const bySku = new Map<string, RecordedEvent[]>();
    for (const event of events) {
      const sku = event.stream.slice(productStreamPrefix.length);
      bySku.set(sku, [...(bySku.get(sku) ?? []), event]);
    }
    const stored = await load(trx, [...bySku.keys()]);
    const rows = [];
    for (const [sku, productEvents] of bySku) {
      let projected = stored.get(sku);
      for (const event of productEvents) {
        if (projected && event.revision <= projected.revision) continue; // applied before
        projected = {
          product: evolve(projected?.product ?? initialProduct, toProductEvent(event)),
          revision: event.revision,
          updatedAt: event.recordedAt,
        };
      }
      if (!projected || projected === stored.get(sku) || projected.product.status === "none") continue;
      const { product, revision, updatedAt } = projected;
      rows.push({
        sku,
        name: product.name,
        prices: JSON.stringify(product.prices),
        listed: product.status === "listed",
        revision: revision.toString(),
        updated_at: updatedAt,
      });
    }
    for (const chunk of chunks(rows)) {
      await trx
        .insertInto("products")
        .values(chunk)
        .onConflict((conflict) =>
          conflict.column("sku").doUpdateSet((eb) => ({
            name: eb.ref("excluded.name"),
            prices: eb.ref("excluded.prices"),
            listed: eb.ref("excluded.listed"),
            revision: eb.ref("excluded.revision"),
            updated_at: eb.ref("excluded.updated_at"),
          })),
        )
        .execute();
    }
  },
};

async function load(trx: Transaction<Tables>, skus: string[]): Promise<Map<string, ProjectedProduct>> {
  const rows = await trx.selectFrom("products").selectAll().where("sku", "in", skus).execute();
  return new Map(
    rows.map((row) => [
      row.sku,
      {
        product: {
          status: row.listed ? "listed" : "delisted",
          sku: row.sku,
          name: row.name,
          prices: row.prices,
        },
        revision: BigInt(row.revision),
        updatedAt: row.updated_at,
      },
    ]),
  );
}
