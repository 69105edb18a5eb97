import type { TSchema } from "typebox";
import { Compile } from "typebox/compile";
import type { BasketEvent } from "../aggregates/basket/index.js";
import type { ProductEvent } from "../aggregates/product/index.js";
import type { EventMetadata, JsonValue } from "../eventstore/port.js";
import { basketEventSchemas, productEventSchemas } from "./schemas.js";
import { currentVersions, upcast } from "./upcasters.js";

/** What a store gives back of an event: enough to tell which domain event it is. */
export interface StoredEvent {
  readonly type: string;
  readonly data: JsonValue;
  readonly metadata?: EventMetadata | undefined;
  readonly stream?: string;
  readonly revision?: bigint;
}

/** A stored record that is no event this code can read: never folded in as if it were. */
export class UnreadableEvent extends Error {
  override readonly name = "UnreadableEvent";
}

/** The metadata key of an event's schema version; absent means version 1. */
export const schemaVersionKey = "schemaVersion";

/** The metadata a writer adds to an event of this type: its current schema version. */
export const versionOf = (type: BasketEvent["type"] | ProductEvent["type"]) => ({
  [schemaVersionKey]: currentVersions[type],
});

interface Check {
  Check(value: unknown): boolean;
  Errors(value: unknown): Iterable<{ instancePath: string; message: string }>;
}
const compiled = <S extends Record<string, TSchema>>(schemas: S) =>
  Object.fromEntries(Object.entries(schemas).map(([type, schema]) => [type, Compile(schema) as Check])) as {
    [T in keyof S]: Check;
  };
const basketChecks = compiled(basketEventSchemas);
const productChecks = compiled(productEventSchemas);

export const isBasketEventType = (type: string): type is BasketEvent["type"] =>
  Object.hasOwn(basketChecks, type);
export const isProductEventType = (type: string): type is ProductEvent["type"] =>
  Object.hasOwn(productChecks, type);

/**
 * The one place a stored event becomes a basket event — for the worker's fold, projections,
 * rebuilds, the live stream and the CLI alike: upcast from the version it was stored in, then
 * checked against the current schema.
 */
export function toBasketEvent(stored: StoredEvent): BasketEvent {
  if (!isBasketEventType(stored.type)) throw unknownType(stored, "basket");
  return decode(stored, stored.type, basketChecks[stored.type]) as BasketEvent;
}

/** The same for the catalog's product events. */
export function toProductEvent(stored: StoredEvent): ProductEvent {
  if (!isProductEventType(stored.type)) throw unknownType(stored, "product");
  return decode(stored, stored.type, productChecks[stored.type]) as ProductEvent;
}

function decode(
  stored: StoredEvent,
  type: BasketEvent["type"] | ProductEvent["type"],
  check: Check,
): { type: string; data: JsonValue } {
  const version = stored.metadata?.[schemaVersionKey] ?? 1;
  let data: JsonValue;
  try {
    data = upcast(type, version as number, stored.data);
  } catch (error) {
    throw new UnreadableEvent(`${describe(stored)}: ${(error as Error).message}`);
  }
  if (!check.Check(data)) {
    const [first] = check.Errors(data);
    const problem = first ? `${first.instancePath || "/"} ${first.message}` : "unexpected shape";
    throw new UnreadableEvent(`${describe(stored)} does not hold a ${type}: ${problem}`);
  }
  return { type, data };
}

const describe = (stored: StoredEvent) =>
  stored.stream === undefined ? stored.type : `${stored.type} (${stored.stream}@${stored.revision})`;

const unknownType = (stored: StoredEvent, kind: string) => {
  const where = stored.stream === undefined ? "" : ` (${stored.stream}@${stored.revision})`;
  return new UnreadableEvent(`Unknown ${kind} event type ${JSON.stringify(stored.type)}${where}`);
};
