import type { BasketEvent } from "../../src/aggregates/basket/index.js";
import type { Checkpoint, EventMetadata, JsonValue, RecordedEvent } from "../../src/eventstore/port.js";

/** When a test's log began: the event at position n was recorded n seconds later (modulo a day). */
const start = Date.UTC(2026, 0, 1);

/**
 * An event as a store hands it back, made up for a test that needs no store. Its global
 * position is its revision unless given; `type` and `data` may be anything a store could hold.
 */
export function recordedEvent(
  stream: string,
  revision: bigint,
  event: BasketEvent | { type: string; data: JsonValue },
  options: { metadata?: EventMetadata; position?: bigint } = {},
): RecordedEvent {
  const position = options.position ?? revision;
  return {
    id: `${stream}@${revision}`,
    stream,
    revision,
    position,
    type: event.type,
    data: event.data,
    metadata: options.metadata ?? {},
    recordedAt: new Date(start + Number(position % 86_400n) * 1_000),
    checkpoint: String(position) as Checkpoint,
  };
}
