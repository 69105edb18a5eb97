import {
  type Basket,
  type BasketEvent,
  basketStream,
  evolve,
  initialBasket,
} from "../../aggregates/basket/index.js";
import { toBasketEvent, UnreadableEvent } from "../../events/index.js";
import type { EventStore, RecordedEvent } from "../../eventstore/port.js";
import { summarise } from "./summaries.js";

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

export function historyRows(events: RecordedEvent[]): HistoryRow[] {
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
