import { type Basket, type BasketView, initialBasket, toBasketView } from "../../aggregates/basket/index.js";
import type { RecordedEvent } from "../../eventstore/port.js";
import { evolveRecorded } from "./history.js";
import { formatAmount } from "./summaries.js";

/** A point in a basket's life: after the event with this revision, or as it was at this time. */
export type PointInTime = { revision: bigint } | { time: Date };

export interface PastBasket {
  view: BasketView;
  /** The last event folded in. */
  revision: bigint;
  recordedAt: Date;
}

/**
 * The basket at a point in its past, folded with the domain's own `evolve`.
 *
 * At a time, the fold takes the events in revision order up to the first one recorded after it.
 * Recorded times are not strictly monotonic within a stream (an append's time is when its
 * transaction began, and it may have waited for the stream's lock), so "every event recorded by
 * then" could skip a revision; a prefix of the stream is always a state the basket was in.
 * Times have the store's millisecond resolution.
 */
export function basketAt(basketId: string, events: RecordedEvent[], point: PointInTime): PastBasket {
  const last = events.at(-1);
  if (!last) throw new Error(`No basket ${basketId}.`);
  let upTo: number;
  if ("revision" in point) {
    upTo = events.findIndex((event) => event.revision === point.revision);
    if (upTo < 0) {
      throw new Error(
        `Basket ${basketId} has revisions ${events[0]?.revision} to ${last.revision}; there is no revision ${point.revision}.`,
      );
    }
  } else {
    const after = events.findIndex((event) => event.recordedAt.getTime() > point.time.getTime());
    upTo = after < 0 ? events.length - 1 : after - 1;
    if (upTo < 0) {
      throw new Error(
        `Basket ${basketId} did not exist yet at ${point.time.toISOString()}: its first event was recorded at ${events[0]?.recordedAt.toISOString()}.`,
      );
    }
  }
  let basket: Basket = initialBasket;
  for (const event of events.slice(0, upTo + 1)) basket = evolveRecorded(basket, event);
  const at = events[upTo] as RecordedEvent;
  const view = toBasketView(basket);
  if (!view) throw new Error(`Basket ${basketId} is not created by revision ${at.revision}.`);
  return { view, revision: at.revision, recordedAt: at.recordedAt };
}

/** `events state --json`: the basket view, as the API answers it, with revision (a string) and time. */
export const pastBasketJson = (past: PastBasket) => ({
  ...past.view,
  revision: past.revision.toString(),
  recordedAt: past.recordedAt.toISOString(),
});

/** `events state` for a reader. */
export function formatPastBasket(past: PastBasket): string[] {
  const { view } = past;
  const money = (minor: number) => formatAmount(minor, view.currency);
  const cells = view.lines.map((line) => [
    line.sku,
    line.name,
    `${line.quantity} × ${money(line.unitPrice)}`,
    money(line.lineTotal),
  ]);
  const widths = [0, 1, 2, 3].map((column) => Math.max(0, ...cells.map((row) => row[column]?.length ?? 0)));
  // Names left-aligned, numbers right-aligned.
  const align = (row: string[]) =>
    row.map((cell, column) => {
      const width = widths[column] ?? 0;
      return column < 2 ? cell.padEnd(width) : cell.padStart(width);
    });
  return [
    `basket ${view.id} at revision ${past.revision} (recorded ${past.recordedAt.toISOString()})`,
    `  status    ${view.status}`,
    `  visitor   ${view.visitorId ?? "(anonymous)"}`,
    `  currency  ${view.currency}`,
    ...(cells.length === 0 ? ["  no lines"] : []),
    ...cells.map((row) => `  ${align(row).join("  ")}`),
    `  ${view.itemCount} ${view.itemCount === 1 ? "item" : "items"}, total ${money(view.total)} ${view.currency}`,
  ];
}
