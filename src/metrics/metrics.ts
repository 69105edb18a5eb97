import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/** Counts that live elsewhere (a handler's, a router's) and are read when scraped. */
export interface LiveCounts {
  cacheHits: number;
  cacheMisses: number;
  cacheEvictions: number;
  conflicts: number;
  retries: number;
  partitionsOwned: number;
  rebalances: number;
  /** Records of EventStoreDB's log passed over, by reason: not events of this service. */
  recordsSkipped: Readonly<Record<string, number>>;
}

/**
 * The process's Prometheus metrics (GET /metrics on every role). Per-command figures are
 * observed as they happen; cache and routing figures are read from their owners at scrape time.
 */
export function createMetrics(live: () => Partial<LiveCounts> = () => ({})) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const fromLive = (name: string, help: string, read: (counts: Partial<LiveCounts>) => number | undefined) =>
    new Counter({
      name,
      help,
      registers,
      collect() {
        this.reset();
        this.inc(read(live()) ?? 0);
      },
    });
  return {
    registry,
    commands: new Counter({
      name: "basket_commands_total",
      help: "Commands handled, by type and outcome (ok or the failure code).",
      labelNames: ["type", "outcome"] as const,
      registers,
    }),
    commandSeconds: new Histogram({
      name: "basket_command_duration_seconds",
      help: "Time a worker took to handle a command.",
      labelNames: ["type"] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    cacheHits: fromLive(
      "basket_cache_hits_total",
      "Commands whose basket was in the cache.",
      (c) => c.cacheHits,
    ),
    cacheMisses: fromLive(
      "basket_cache_misses_total",
      "Commands whose basket was read from its stream.",
      (c) => c.cacheMisses,
    ),
    cacheEvictions: fromLive(
      "basket_cache_evictions_total",
      "Baskets dropped from the cache because their partition moved away.",
      (c) => c.cacheEvictions,
    ),
    conflicts: fromLive(
      "basket_conflicts_total",
      "Appends refused for a stale revision.",
      (c) => c.conflicts,
    ),
    retries: fromLive(
      "basket_retries_total",
      "Commands decided again on fresh state after a conflict.",
      (c) => c.retries,
    ),
    partitionsOwned: new Gauge({
      name: "basket_partitions_owned",
      help: "Partitions this worker serves.",
      registers,
      collect() {
        this.set(live().partitionsOwned ?? 0);
      },
    }),
    rebalances: fromLive(
      "basket_rebalances_total",
      "Times this worker's partitions changed.",
      (c) => c.rebalances,
    ),
    recordsSkipped: new Counter({
      name: "eventstore_records_skipped_total",
      help: "Records of EventStoreDB's log in the service's streams that are not its events, passed over by reads, by reason: deleted_stream (a hard delete's tombstone), link, system_event, not_json.",
      labelNames: ["reason"] as const,
      registers,
      collect() {
        this.reset();
        for (const [reason, count] of Object.entries(live().recordsSkipped ?? {}))
          this.inc({ reason }, count);
      },
    }),
    queuedCommands: new Counter({
      name: "basket_queued_commands_total",
      help: "Deliveries of queued (Prefer: respond-async) commands, by what became of them: succeeded, failed (refused), retried, dead_lettered.",
      labelNames: ["outcome"] as const,
      registers,
    }),
    liveStreams: new Gauge({
      name: "basket_live_streams",
      help: "Live basket streams (GET /baskets/:id/live) open now.",
      registers,
    }),
    liveStreamsRefused: new Counter({
      name: "basket_live_streams_refused_total",
      help: "Live basket streams refused for a limit: too many on one basket, or from one client.",
      labelNames: ["limit"] as const,
      registers,
    }),
    projectionLag: new Gauge({
      name: "projection_lag_seconds",
      help: "Commit time of a projection's last batch less the recording time of its last event.",
      labelNames: ["projection"] as const,
      registers,
    }),
    projectionEvents: new Counter({
      name: "projection_events_total",
      help: "Events a projection applied.",
      labelNames: ["projection"] as const,
      registers,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
