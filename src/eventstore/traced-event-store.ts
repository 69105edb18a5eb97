import { inSpan, SpanKind } from "../telemetry/spans.js";
import type { EventStore } from "./port.js";

/**
 * The store with a span around each append and stream read, whatever the backend (PostgreSQL,
 * PGlite, EventStoreDB): what a command spends in the store shows in its trace. Used only when
 * tracing is on; reading the log (`readAll`, `follow`) is the projections', traced per batch.
 */
export function tracedEventStore(store: EventStore): EventStore {
  return {
    append: (stream, events, expectedRevision) =>
      inSpan(
        "eventstore.append",
        {
          kind: SpanKind.CLIENT,
          attributes: { "eventstore.stream": stream, "eventstore.events": events.length },
        },
        async (span) => {
          const result = await store.append(stream, events, expectedRevision);
          span.setAttribute("eventstore.revision", result.revision.toString());
          return result;
        },
      ),
    readStream: (stream, fromRevision) =>
      inSpan(
        "eventstore.readStream",
        { kind: SpanKind.CLIENT, attributes: { "eventstore.stream": stream } },
        async (span) => {
          const events = await store.readStream(stream, fromRevision);
          span.setAttribute("eventstore.events", events.length);
          return events;
        },
      ),
    readAll: (options) => store.readAll(options),
    follow: (options) => store.follow(options),
    onAppended: (listener) => store.onAppended(listener),
    close: () => store.close(),
  };
}
