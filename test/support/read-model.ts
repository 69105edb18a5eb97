import { sql } from "kysely";
import { expect } from "vitest";
import {
  type Basket,
  basketStream,
  basketStreamPrefix,
  evolve,
  initialBasket,
  toBasketView,
} from "../../src/aggregates/basket/index.js";
import {
  evolve as evolveProduct,
  initialProduct,
  type Product,
  productStream,
  productStreamPrefix,
} from "../../src/aggregates/product/index.js";
import type { Database } from "../../src/db/database.js";
import { toBasketEvent, toProductEvent } from "../../src/events/index.js";
import type { EventStore, RecordedEvent } from "../../src/eventstore/port.js";
import { allProjections } from "../../src/projections/all-projections.js";

/** A basket as the read model holds it, in the shape of the domain's view. */
export async function readModelBasket(database: Database, basketId: string) {
  const row = await database.db
    .selectFrom("basket_view")
    .selectAll()
    .where("id", "=", basketId)
    .executeTakeFirst();
  if (!row) return undefined;
  const lines = await database.db
    .selectFrom("basket_view_lines")
    .selectAll()
    .where("basket_id", "=", basketId)
    .orderBy("line_no")
    .execute();
  return {
    view: {
      id: row.id,
      visitorId: row.visitor_id,
      status: row.status,
      currency: row.currency,
      lines: lines.map((line) => ({
        sku: line.sku,
        name: line.name,
        unitPrice: Number(line.unit_price),
        quantity: line.quantity,
        lineTotal: Number(line.line_total),
      })),
      itemCount: row.item_count,
      total: Number(row.total),
    },
    lineCount: row.line_count,
    revision: BigInt(row.revision),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    checkedOutAt: row.checked_out_at,
  };
}

/** The same, computed straight from the basket's events (through the upcasters) with the domain's `evolve`. */
export async function foldedBasket(store: EventStore, basketId: string) {
  const events = await store.readStream(basketStream(basketId));
  if (events.length === 0) return undefined;
  let state: Basket = initialBasket;
  for (const event of events) state = evolve(state, toBasketEvent(event));
  const view = toBasketView(state);
  if (!view) return undefined;
  const checkedOut = events.find((event) => event.type === "BasketCheckedOut");
  return {
    view,
    lineCount: view.lines.length,
    revision: (events.at(-1) as (typeof events)[number]).revision,
    createdAt: (events[0] as (typeof events)[number]).recordedAt,
    updatedAt: (events.at(-1) as (typeof events)[number]).recordedAt,
    checkedOutAt: checkedOut?.recordedAt ?? null,
  };
}

/** The streams a projection reads: baskets', or the catalog's products'. */
const streamPrefixOf = (name: string) =>
  allProjections.find((projection) => projection.name === name)?.streamPrefix ?? basketStreamPrefix;

/** Resolves once the projection has applied everything appended so far to the streams it reads. */
export async function projectionCaughtUp(
  database: Database,
  store: EventStore,
  name: string,
  timeoutMs = 10_000,
) {
  const deadline = Date.now() + timeoutMs;
  const streamPrefix = streamPrefixOf(name);
  for (;;) {
    const row = await database.db
      .selectFrom("projection_checkpoints")
      .select("checkpoint")
      .where("name", "=", name)
      .executeTakeFirst();
    const page = await store.readAll({
      after: (row?.checkpoint ?? undefined) as never,
      limit: 1,
      streamPrefix,
    });
    if (row && page.events.length === 0 && !page.pending) return;
    if (Date.now() > deadline) throw new Error(`${name} did not catch up in ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export const countEvents = async (database: Database) =>
  Number((await sql<{ n: string }>`select count(*) as n from events`.execute(database.db)).rows[0]?.n);

/** The events of streams of this prefix in the log (baskets' by default): what a projection of them must have applied, once. */
export const countBasketEvents = async (database: Database, streamPrefix = basketStreamPrefix) =>
  Number(
    (
      await sql<{ n: string }>`
        select count(*) as n from events where starts_with(stream_id, ${streamPrefix})`.execute(database.db)
    ).rows[0]?.n,
  );

/** The events a projection reads, in the log: those of its streams. */
export const countProjectedEvents = (database: Database, name: string) =>
  countBasketEvents(database, streamPrefixOf(name));

/** The product-popularity view, in the shape `expectedPopularity` computes. */
export const productPopularity = (database: Database) =>
  database.db
    .selectFrom("product_popularity")
    .select(["sku", "times_added", "times_removed", "quantity_in_open_baskets", "quantity_checked_out"])
    .orderBy("sku")
    .execute();

/** What the cross-basket view must say, computed from the events alone. */
export function expectedPopularity(streams: RecordedEvent[][]) {
  const counts = new Map<string, { added: number; removed: number; open: number; checkedOut: number }>();
  const of = (sku: string) => {
    const known = counts.get(sku) ?? { added: 0, removed: 0, open: 0, checkedOut: 0 };
    counts.set(sku, known);
    return known;
  };
  for (const events of streams) {
    let basket: Basket = initialBasket;
    for (const event of events) {
      const basketEvent = toBasketEvent(event);
      if (basketEvent.type === "ItemAdded") of(basketEvent.data.sku).added++;
      // A line the catalog took away at checkout is removed like one the shopper removed.
      if (basketEvent.type === "ItemRemoved" || basketEvent.type === "LineRemoved")
        of(basketEvent.data.sku).removed++;
      if (basketEvent.type === "BasketCleared" && basket.status === "open") {
        for (const sku of basket.lines.keys()) of(sku).removed++;
      }
      basket = evolve(basket, basketEvent);
    }
    if (basket.status === "none") continue;
    for (const line of basket.lines.values()) {
      if (basket.status === "open") of(line.sku).open += line.quantity;
      else of(line.sku).checkedOut += line.quantity;
    }
  }
  return [...counts]
    .map(([sku, c]) => ({
      sku,
      times_added: String(c.added),
      times_removed: String(c.removed),
      quantity_in_open_baskets: String(c.open),
      quantity_checked_out: String(c.checkedOut),
    }))
    .sort((a, b) => a.sku.localeCompare(b.sku));
}

/** Every basket in the log, as ids. */
export async function allBasketIds(database: Database): Promise<string[]> {
  const { rows } = await sql<{ stream_id: string }>`
    select distinct stream_id from events where starts_with(stream_id, ${basketStreamPrefix})`.execute(
    database.db,
  );
  return rows.map((row) => row.stream_id.slice(basketStreamPrefix.length));
}

/** Each of these baskets' views equals a fresh fold of its events. */
export async function expectBasketsAreFolds(
  database: Database,
  store: EventStore,
  basketIds: readonly string[],
) {
  for (const basketId of basketIds) {
    expect(await readModelBasket(database, basketId)).toEqual(await foldedBasket(store, basketId));
  }
}

const bySku = (a: { sku: string }, b: { sku: string }) => (a.sku < b.sku ? -1 : a.sku > b.sku ? 1 : 0);

/** The catalog's table, in the shape `foldedProducts` computes. */
export const catalogProducts = async (database: Database) =>
  (
    await database.db.selectFrom("products").select(["sku", "name", "prices", "listed", "revision"]).execute()
  ).sort(bySku);

/** Every product in the log, folded from its stream with the catalog's `evolve`. */
export async function foldedProducts(database: Database, store: EventStore) {
  const { rows } = await sql<{ stream_id: string }>`
    select distinct stream_id from events where starts_with(stream_id, ${productStreamPrefix})`.execute(
    database.db,
  );
  const products = [];
  for (const sku of rows.map((row) => row.stream_id.slice(productStreamPrefix.length))) {
    const events = await store.readStream(productStream(sku));
    let product: Product = initialProduct;
    for (const event of events) product = evolveProduct(product, toProductEvent(event));
    if (product.status === "none") continue;
    const revision = String((events.at(-1) as RecordedEvent).revision);
    products.push({
      sku,
      name: product.name,
      prices: product.prices,
      listed: product.status === "listed",
      revision,
    });
  }
  return products.sort(bySku);
}

/** The whole read model equals a fresh fold of the whole log: every basket, product popularity and the catalog. */
export async function expectReadModelIsFold(database: Database, store: EventStore) {
  const ids = await allBasketIds(database);
  await expectBasketsAreFolds(database, store, ids);
  const { rows } = await sql<{ n: string }>`select count(*) as n from basket_view`.execute(database.db);
  expect(Number(rows[0]?.n)).toBe(
    (await Promise.all(ids.map((id) => foldedBasket(store, id)))).filter(Boolean).length,
  );
  const streams = await Promise.all(ids.map((id) => store.readStream(basketStream(id))));
  expect(await productPopularity(database)).toEqual(expectedPopularity(streams));
  expect(await catalogProducts(database)).toEqual(await foldedProducts(database, store));
}

/** Every event of the log counted exactly once by each projection (each of the streams it reads). */
export async function expectAppliedOnce(database: Database, names: string[]) {
  const sorted = [...names].sort();
  const expected = await Promise.all(
    sorted.map(async (name) => ({
      name,
      events_applied: String(await countProjectedEvents(database, name)),
    })),
  );
  const checkpoints = await database.db
    .selectFrom("projection_checkpoints")
    .select(["name", "events_applied"])
    .where("name", "in", names)
    .orderBy("name")
    .execute();
  expect(checkpoints).toEqual(expected);
}
