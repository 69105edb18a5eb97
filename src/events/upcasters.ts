import type { BasketEvent } from "../aggregates/basket/index.js";
import type { ProductEvent } from "../aggregates/product/index.js";
import type { JsonValue } from "../eventstore/port.js";

type EventType = BasketEvent["type"] | ProductEvent["type"];

/**
 * The schema version each event type is written in now. It travels in the event's metadata as
 * `schemaVersion`; an event without one is version 1 (everything stored before versions).
 * Adding a version: docs/event-versions.md.
 */
export const currentVersions: Record<EventType, number> = {
  BasketCreated: 1,
  ItemAdded: 2,
  ItemQuantityChanged: 1,
  ItemRemoved: 1,
  BasketCleared: 1,
  LineRepriced: 1,
  LineRemoved: 1,
  BasketCheckedOut: 1,
  ProductListed: 1,
  ProductChanged: 1,
  ProductDelisted: 1,
};

type Upcaster = (data: { [key: string]: JsonValue }) => { [key: string]: JsonValue };

/**
 * Per event type, how data of version n becomes version n + 1. Stored events are never
 * rewritten: every read goes through these, one step at a time, up to the current version.
 */
const upcasters: Partial<Record<EventType, Record<number, Upcaster>>> = {
  ItemAdded: {
    // v1 (before the catalog): the client gave the name and price; no product revision to tell.
    1: (data) => ({ ...data, productRevision: null }),
  },
};

/** The data in the current version of its type; throws with what is wrong when it cannot be. */
export function upcast(type: EventType, version: number, data: JsonValue): JsonValue {
  const current = currentVersions[type];
  if (!Number.isInteger(version) || version < 1)
    throw new Error(`schemaVersion ${JSON.stringify(version)} is not a version`);
  if (version > current)
    throw new Error(`${type} v${version} is newer than this code reads (v${current}): upgrade the service`);
  let upcast = data;
  for (let from = version; from < current; from++) {
    const step = upcasters[type]?.[from];
    if (!step) throw new Error(`${type} has no upcaster from v${from}`);
    if (typeof upcast !== "object" || upcast === null || Array.isArray(upcast))
      throw new Error(`${type} v${from} data is not an object`);
    upcast = step(upcast);
  }
  return upcast;
}
