import { basketStreamPrefix } from "../aggregates/basket/index.js";
import type { ProjectionInfo } from "./projection.js";

/**
 * The event relay as a projection: one active runner, a checkpoint, `projections status` — but
 * its target is a JetStream stream rather than tables, so its delivery lives with the rest of
 * the NATS code (src/nats/events/event-relay.ts). The log is the outbox: an event is published
 * because it was stored, whatever became of the worker that stored it.
 */
export const eventRelay = {
  kind: "outbound",
  name: "event-relay",
  version: 1,
  streamPrefix: basketStreamPrefix,
  tables: [],
} as const satisfies ProjectionInfo;
