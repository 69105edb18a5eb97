import {
  type Basket,
  type BasketEvent,
  basketEventTypes,
  basketStream,
  evolve,
  initialBasket,
} from "../../aggregates/basket/index.js";
import type { EventStore, RecordedEvent } from "../../eventstore/port.js";
import { summarise } from "./summaries.js";

/** A basket's events, all of them; a basket nobody created is an error naming it. */
export async function readBasket(store: EventStore, basketId: string): Promise<RecordedEvent[]> {
  const events = await store.readStream(basketStream(basketId));
  if (events.length === 0)
    throw new Error(`No basket ${basketId}: its stream ${basketStream(basketId)} has no events.`);
  return events;
}

/** Folds one recorded event into the basket; an event type the domain does not know leaves it as it was. */
export function evolveRecorded(basket: Basket, event: RecordedEvent): Basket {
  if (!basketEventTypes.includes(event.type as BasketEvent["type"])) return basket;
  return evolve(basket, { type: event.type, data: event.data } as BasketEvent);
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
      summary: summarise(event, basket),
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
