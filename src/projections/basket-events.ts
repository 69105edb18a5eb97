import { basketStreamPrefix } from "../aggregates/basket/index.js";
import type { RecordedEvent } from "../eventstore/port.js";

/** The log's basket events, grouped by basket, each group in revision order. */
export function groupByBasket(events: RecordedEvent[]): Map<string, RecordedEvent[]> {
  const groups = new Map<string, RecordedEvent[]>();
  for (const event of events) {
    const basketId = event.stream.slice(basketStreamPrefix.length);
    const group = groups.get(basketId);
    if (group) group.push(event);
    else groups.set(basketId, [event]);
  }
  return groups;
}

/** Splits rows into inserts of at most `size`, under PostgreSQL's limit of 65,535 parameters. */
export function* chunks<T>(rows: T[], size = 2_000): Generator<T[]> {
  for (let i = 0; i < rows.length; i += size) yield rows.slice(i, i + size);
}
