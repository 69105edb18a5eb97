import { sql, type Transaction } from "kysely";
import {
  type Basket,
  type BasketLine,
  basketStreamPrefix,
  evolve,
  initialBasket,
} from "../../aggregates/basket/index.js";
import type { Tables } from "../../db/tables.js";
import { toBasketEvent } from "../../events/index.js";
import { chunks, groupByBasket } from "../basket-events.js";
import type { Projection } from "../projection.js";

interface Counts {
  added: number;
  removed: number;
  open: number;
  checkedOut: number;
}

/**
 * product_popularity, per sku: how often it was added and removed (removed, set to 0 or
 * cleared), how many sit in open baskets now, and how many were checked out. A removal does not
 * say how many it took away, so the projection keeps each basket's state of its own
 * (product_popularity_baskets) and counts the difference each batch makes.
 */
export const productPopularityProjection: Projection = {
  name: "product-popularity",
  version: 1,
  streamPrefix: basketStreamPrefix,
  // In the order apply first touches them (see Projection.tables).
  tables: ["product_popularity_baskets", "product_popularity"],

  async apply(trx, events) {
    const byBasket = groupByBasket(events);
    const stored = await load(trx, [...byBasket.keys()]);
    const counts = new Map<string, Counts>();
    const countsOf = (sku: string) => {
      const known = counts.get(sku);
      if (known) return known;
      const fresh = { added: 0, removed: 0, open: 0, checkedOut: 0 };
      counts.set(sku, fresh);
      return fresh;
    };
    const changed: { basket_id: string; revision: string; state: string }[] = [];

    for (const [basketId, basketEvents] of byBasket) {
      const before = stored.get(basketId) ?? { state: initialBasket, revision: -1n };
      let { state, revision } = before;
      for (const event of basketEvents) {
        if (event.revision <= revision) continue; // applied before
        const basketEvent = toBasketEvent(event);
        if (basketEvent.type === "ItemAdded") countsOf(basketEvent.data.sku).added++;
        // A line the catalog took away at checkout is a removal too.
        if (basketEvent.type === "ItemRemoved" || basketEvent.type === "LineRemoved")
          countsOf(basketEvent.data.sku).removed++;
        if (basketEvent.type === "BasketCleared" && state.status === "open") {
          for (const sku of state.lines.keys()) countsOf(sku).removed++;
        }
        state = evolve(state, basketEvent);
        revision = event.revision;
      }
      if (revision === before.revision) continue;
      for (const sku of new Set([...linesOf(before.state).keys(), ...linesOf(state).keys()])) {
        countsOf(sku).open += quantityIn(state, "open", sku) - quantityIn(before.state, "open", sku);
        countsOf(sku).checkedOut +=
          quantityIn(state, "checked_out", sku) - quantityIn(before.state, "checked_out", sku);
      }
      changed.push({
        basket_id: basketId,
        revision: revision.toString(),
        state: JSON.stringify(toJson(state)),
      });
    }

    const rows = [...counts].map(([sku, c]) => ({
      sku,
      times_added: c.added,
      times_removed: c.removed,
      quantity_in_open_baskets: c.open,
      quantity_checked_out: c.checkedOut,
    }));
    for (const chunk of chunks(rows)) {
      await trx
        .insertInto("product_popularity")
        .values(chunk)
        .onConflict((conflict) =>
          conflict.column("sku").doUpdateSet({
            times_added: sql`product_popularity.times_added + excluded.times_added`,
            times_removed: sql`product_popularity.times_removed + excluded.times_removed`,
            quantity_in_open_baskets: sql`product_popularity.quantity_in_open_baskets + excluded.quantity_in_open_baskets`,
            quantity_checked_out: sql`product_popularity.quantity_checked_out + excluded.quantity_checked_out`,
          }),
        )
        .execute();
    }
    for (const chunk of chunks(changed)) {
      await trx
        .insertInto("product_popularity_baskets")
        .values(chunk)
        .onConflict((conflict) =>
          conflict.column("basket_id").doUpdateSet((eb) => ({
            revision: eb.ref("excluded.revision"),
            state: eb.ref("excluded.state"),
          })),
        )
        .execute();
    }
  },
};

const linesOf = (basket: Basket): ReadonlyMap<string, BasketLine> =>
  basket.status === "none" ? new Map() : basket.lines;

const quantityIn = (basket: Basket, status: "open" | "checked_out", sku: string): number =>
  basket.status === status ? (basket.lines.get(sku)?.quantity ?? 0) : 0;

type BasketJson =
  | { status: "none" }
  | (Omit<Exclude<Basket, { status: "none" }>, "lines"> & { lines: BasketLine[] });

const toJson = (basket: Basket): BasketJson =>
  basket.status === "none" ? basket : { ...basket, lines: [...basket.lines.values()] };

const fromJson = (json: BasketJson): Basket =>
  json.status === "none" ? json : { ...json, lines: new Map(json.lines.map((line) => [line.sku, line])) };

async function load(trx: Transaction<Tables>, ids: string[]) {
  const rows = await trx
    .selectFrom("product_popularity_baskets")
    .selectAll()
    .where("basket_id", "in", ids)
    .execute();
  return new Map(
    rows.map((row) => [
      row.basket_id,
      { state: fromJson(row.state as BasketJson), revision: BigInt(row.revision) },
    ]),
  );
}
