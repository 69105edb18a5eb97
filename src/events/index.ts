/** Stored events ⇄ domain events: the schemas events are checked against on every read path. */
export { isBasketEventType } from "./basket-event-schemas.js";
export { type StoredEvent, toBasketEvent, UnreadableEvent } from "./to-basket-event.js";
