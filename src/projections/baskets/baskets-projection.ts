import type { Transaction } from "kysely";
import {
  type Basket,
  type BasketLine,
  basketStreamPrefix,
  basketTotal,
  evolve,
  initialBasket,
  itemCount,
  lineTotal,
} from "../../aggregates/basket/index.js";
import type { Tables } from "../../db/tables.js";
import { toBasketEvent } from "../../events/index.js";
import type { RecordedEvent } from "../../eventstore/port.js";
import { chunks, groupByBasket } from "../basket-events.js";
import type { Projection } from "../projection.js";

interface ProjectedBasket {
  state: Basket;
  revision: bigint;
  createdAt: Date;
  updatedAt: Date;
  checkedOutAt: Date | null;
}

/**
 * basket_view and basket_view_lines: each basket as the domain's own `evolve` folds it, with
 * the times its events were recorded. A batch loads the baskets it touches, folds their new
 * events in memory and writes each changed basket back once.
 */
export const basketsProjection: Projection = {
  name: "baskets",
  version: 1,
  streamPrefix: basketStreamPrefix,
  tables: ["basket_view", "basket_view_lines"],

  async apply(trx, events) {
    const byBasket = groupByBasket(events);
    const stored = await load(trx, [...byBasket.keys()]);
    const changed = new Map<string, ProjectedBasket>();
    for (const [basketId, basketEvents] of byBasket) {
      const projected = fold(stored.get(basketId), basketEvents);
      if (projected && projected !== stored.get(basketId)) changed.set(basketId, projected);
    }
    await save(trx, changed);
  },
};

/** Folds the events newer than the stored revision; earlier ones were applied before. */
function fold(from: ProjectedBasket | undefined, events: RecordedEvent[]): ProjectedBasket | undefined {
  let projected = from;
  for (const event of events) {
    if (projected && event.revision <= projected.revision) continue;
    const at = event.recordedAt;
    const state = evolve(projected?.state ?? initialBasket, toBasketEvent(event));
    projected = {
      state,
      revision: event.revision,
      createdAt: projected?.createdAt ?? at,
      updatedAt: at,
      checkedOutAt: event.type === "BasketCheckedOut" ? at : (projected?.checkedOutAt ?? null),
    };
  }
  return projected?.state.status === "none" ? undefined : projected;
}

async function load(trx: Transaction<Tables>, ids: string[]): Promise<Map<string, ProjectedBasket>> {
  const baskets = await trx.selectFrom("basket_view").selectAll().where("id", "in", ids).execute();
  if (baskets.length === 0) return new Map();
  const lines = await trx
    .selectFrom("basket_view_lines")
    .selectAll()
    .where("basket_id", "in", ids)
    .orderBy("basket_id")
    .orderBy("line_no")
    .execute();
  const linesOf = new Map<string, Map<string, BasketLine>>();
  for (const line of lines) {
    const of = linesOf.get(line.basket_id) ?? new Map<string, BasketLine>();
    of.set(line.sku, {
      sku: line.sku,
      name: line.name,
      unitPrice: Number(line.unit_price),
      quantity: line.quantity,
    });
    linesOf.set(line.basket_id, of);
  }
  return new Map(
    baskets.map((row) => [
      row.id,
      {
        state: {
          status: row.status,
          id: row.id,
          visitorId: row.visitor_id,
          currency: row.currency,
          lines: linesOf.get(row.id) ?? new Map(),
        },
        revision: BigInt(row.revision),
        createdAt: row.created_at,
        updatedAt: row.updated_at,
        checkedOutAt: row.checked_out_at,
      },
    ]),
  );
}

async function save(trx: Transaction<Tables>, baskets: Map<string, ProjectedBasket>): Promise<void> {
  if (baskets.size === 0) return;
  const rows = [...baskets].map(([id, { state, revision, createdAt, updatedAt, checkedOutAt }]) => {
    if (state.status === "none") throw new Error("unreachable: baskets that do not exist are not saved");
    return {
      id,
      visitor_id: state.visitorId,
      status: state.status,
      currency: state.currency,
      line_count: state.lines.size,
      item_count: itemCount(state.lines),
      total: basketTotal(state.lines),
      revision: revision.toString(),
      created_at: createdAt,
      updated_at: updatedAt,
      checked_out_at: checkedOutAt,
    };
  });
  for (const chunk of chunks(rows)) {
    await trx
      .insertInto("basket_view")
      .values(chunk)
      .onConflict((conflict) =>
        conflict.column("id").doUpdateSet((eb) => ({
          visitor_id: eb.ref("excluded.visitor_id"),
          status: eb.ref("excluded.status"),
          currency: eb.ref("excluded.currency"),
          line_count: eb.ref("excluded.line_count"),
          item_count: eb.ref("excluded.item_count"),
          total: eb.ref("excluded.total"),
          revision: eb.ref("excluded.revision"),
          created_at: eb.ref("excluded.created_at"),
          updated_at: eb.ref("excluded.updated_at"),
          checked_out_at: eb.ref("excluded.checked_out_at"),
        })),
      )
      .execute();
  }
  await trx
    .deleteFrom("basket_view_lines")
    .where("basket_id", "in", [...baskets.keys()])
    .execute();
  const lines = [...baskets].flatMap(([id, { state }]) =>
    state.status === "none"
      ? []
      : [...state.lines.values()].map((line, lineNo) => ({
          basket_id: id,
          line_no: lineNo,
          sku: line.sku,
          name: line.name,
          unit_price: line.unitPrice,
          quantity: line.quantity,
          line_total: lineTotal(line),
        })),
  );
  for (const chunk of chunks(lines)) await trx.insertInto("basket_view_lines").values(chunk).execute();
}
