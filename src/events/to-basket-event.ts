import type { BasketEvent } from "../aggregates/basket/index.js";
import type { JsonValue } from "../eventstore/port.js";
import { dataProblem, isBasketEventType } from "./basket-event-schemas.js";

/** What a store gives back of an event: enough to tell which domain event it is. */
export interface StoredEvent {
  readonly type: string;
  readonly data: JsonValue;
  readonly stream?: string;
  readonly revision?: bigint;
}

/** A stored record that is no basket event this code knows: never folded in as if it were. */
export class UnreadableEvent extends Error {
  override readonly name = "UnreadableEvent";
}

/**
 * The one place a stored event becomes a domain event — for the worker's fold, projections,
 * rebuilds, the live stream and the CLI alike — checked against its schema.
 */
export function toBasketEvent(stored: StoredEvent): BasketEvent {
  const where = stored.stream === undefined ? "" : ` (${stored.stream}@${stored.revision})`;
  if (!isBasketEventType(stored.type))
    throw new UnreadableEvent(`Unknown basket event type ${JSON.stringify(stored.type)}${where}`);
  const problem = dataProblem(stored.type, stored.data);
  if (problem) throw new UnreadableEvent(`${stored.type}${where} does not hold a ${stored.type}: ${problem}`);
  return { type: stored.type, data: stored.data } as BasketEvent;
}
