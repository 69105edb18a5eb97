import { hostname } from "node:os";
import type { RecordedEvent } from "../eventstore/port.js";
import { ensureEventsStream, eventRelayProjection } from "../nats/events/event-relay.js";
import { projections } from "../projections/all-projections.js";
import { isOutbound, type OutboundProjection } from "../projections/projection.js";
import { defaultRunnerOptions, ProjectionRunner } from "../projections/projection-runner.js";
import type { ProcessParts } from "./process-parts.js";

/**
 * The projector: every projection (global log → read model, one active runner each across
 * processes) and, with NATS, the event relay (global log → JetStream).
 */
export async function startProjections(parts: ProcessParts): Promise<void> {
  const { log, metrics, database, store, nats } = parts;
  const owner = `${hostname()}:${process.pid}`;
  // The event relay is a projection too; it needs NATS, so without it only the read models run.
  let relay: OutboundProjection | undefined;
  if (nats) {
    const { prefix, eventsDuplicateWindowMs, replicas } = nats.config;
    const settings = { duplicateWindowMs: eventsDuplicateWindowMs, replicas };
    await ensureEventsStream(nats.nc, prefix, settings);
    relay = eventRelayProjection(nats.nc, prefix, settings);
  } else log.info("no NATS_URL: the event relay does not run");
  const runners = [...projections, ...(relay ? [relay] : [])].map(
    (projection) =>
      new ProjectionRunner(database, store, projection, {
        ...defaultRunnerOptions,
        // A batch the relay publishes twice after a crash stays small.
        ...(isOutbound(projection) ? { batchSize: 1_000 } : {}),
        owner,
        log,
        onBatch: (events, committedAt) => {
          const last = events.at(-1) as RecordedEvent;
          metrics.projectionLag.set(
            { projection: projection.name },
            (committedAt - last.recordedAt.getTime()) / 1000,
          );
          metrics.projectionEvents.inc({ projection: projection.name }, events.length);
        },
      }),
  );
  // On EventStoreDB, whose log can lose what a checkpoint points at: ready while no projection
  // is stopped for that (see ProjectionRunner's `failed`).
  if (parts.config.store.eventStore.kind === "esdb")
    parts.probes.projections = async () => {
      const failed = runners.filter((runner) => runner.state === "failed");
      if (failed.length > 0)
        throw new Error(failed.map((runner) => `${runner.name}: ${runner.failure}`).join("; "));
      return undefined;
    };
  for (const runner of runners) runner.start();
  parts.stops.push(() => Promise.all(runners.map((runner) => runner.stop())));
  log.info({ projections: runners.map((runner) => runner.name) }, "projections started");
}
