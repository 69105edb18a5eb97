/**
 * Stored events ⇄ domain events: each type's schema version, the upcasters that read older
 * versions, and the checks every read path passes stored events through (docs/event-versions.md).
 */
export {
  isBasketEventType,
  isProductEventType,
  type StoredEvent,
  schemaVersionKey,
  toBasketEvent,
  toProductEvent,
  UnreadableEvent,
  versionOf,
} from "./decode.js";
export { currentVersions } from "./upcasters.js";
