import {
  type Basket,
  type BasketEvent,
  basketStream,
  evolve,
  initialBasket,
} from "../../aggregates/basket/index.js";
import { type ProductEvent, productStream } from "../../aggregates/product/index.js";
import { toBasketEvent, toProductEvent, UnreadableEvent } from "../../events/index.js";
import type { EventStore, RecordedEvent } from "../../eventstore/port.js";
import { summarise, summariseProduct } from "./summaries.js";

/** Whose history: a basket's, or a product's (its price history). */
export type HistorySubject = { kind: "basket"; basketId: string } | { kind: "product"; sku: string };

/** The subject's events, all of them; one nobody created is an error naming it. */
export async function readHistory(store: EventStore, subject: HistorySubject): Promise<RecordedEvent[]> {
  if (subject.kind === "basket") return readBasket(store, subject.basketId);
  const events = await store.readStream(productStream(subject.sku));
  if (events.length === 0)
    throw new Error(`No product ${subject.sku}: its stream ${productStream(subject.sku)} has no events.`);
  return events;
}

/** A basket's events, all of them; a basket nobody created is an error naming it. */
export async function readBasket(store: EventStore, basketId: string): Promise<RecordedEvent[]> {
  const events = await store.readStream(basketStream(basketId));
  if (events.length === 0)
    throw new Error(`No basket ${basketId}: its stream ${basketStream(basketId)} has no events.`);
  return events;
}

/**
 * The domain event a record holds, or undefined when it holds none this code knows: an
 * operator's look at history shows such a record as it is rather than stopping at it.
 */
export function readable(event: RecordedEvent): BasketEvent | undefined {
  try {
    return toBasketEvent(event);
  } catch (error) {
    if (error instanceof UnreadableEvent) return undefined;
    throw error;
  }
}

/** The same for a product's events. */
function readableProduct(event: RecordedEvent): ProductEvent | undefined {
  try {
    return toProductEvent(event);
  } catch (error) {
    if (error instanceof UnreadableEvent) return undefined;
    throw error;
  }
}

/** Folds one recorded event into the basket; a record that is no basket event leaves it as it was. */
export function evolveRecorded(basket: Basket, event: RecordedEvent): Basket {
  const known = readable(event);
  return known ? evolve(basket, known) : basket;
}

export interface HistoryRow {
  revision: string;
  time: string;
  type: string;
  summary: string;
}

export function historyRows(subject: HistorySubject, events: RecordedEvent[]): HistoryRow[] {
  if (subject.kind === "product")
    return events.map((event) => ({
      revision: event.revision.toString(),
      time: event.recordedAt.toISOString(),
      type: event.type,
      summary: summariseProduct(event, readableProduct(event)),
    }));
  let basket = initialBasket;
  return events.map((event) => {
    const row = {
      revision: event.revision.toString(),
      time: event.recordedAt.toISOString(),
      type: event.type,
      summary: summarise(event, readable(event), basket),
    };
    basket = evolveRecorded(basket, event);
    return row;
  });
}

/** Columns padded to their widest cell; the summary, last, is left ragged. */
export function formatHistory(rows: HistoryRow[]): string[] {
  const header: HistoryRow = { revision: "REV", time: "RECORDED AT", type: "TYPE", summary: "SUMMARY" };
  const all = [header, ...rows];
  const width = (key: keyof HistoryRow) => Math.max(...all.map((row) => row[key].length));
  const [revision, time, type] = [width("revision"), width("time"), width("type")];
  return all.map((row) =>
    [row.revision.padStart(revision), row.time.padEnd(time), row.type.padEnd(type), row.summary].join("  "),
  );
}
