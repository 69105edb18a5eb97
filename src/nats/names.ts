/**
 * Every NATS name the service uses — subjects, queue groups, JetStream streams, consumers and KV
 * buckets — built from the deployment's prefix (NATS_SUBJECT_PREFIX, one subject token, so that
 * it can also name streams and buckets, which take no dots). Nothing else spells one out.
 */

/**
 * Synchronous commands: `<prefix>.cmd.<partition>.<basketId>` — the partition first, so a worker
 * takes a partition with one wildcard subscription; `<prefix>.fallback.<basketId>` for a command
 * whose partition has no subscriber for a moment (served by every worker).
 */
export const commandSubject = (prefix: string, partition: number, basketId: string) =>
  `${prefix}.cmd.${partition}.${basketId}`;
export const partitionWildcard = (prefix: string, partition: number) => `${prefix}.cmd.${partition}.*`;
export const allCommandsWildcard = (prefix: string) => `${prefix}.cmd.*.*`;
export const fallbackSubject = (prefix: string, basketId: string) => `${prefix}.fallback.${basketId}`;
export const fallbackWildcard = (prefix: string) => `${prefix}.fallback.*`;
/** Queue groups: every worker shares one; each partition has its own, so two owners never both answer. */
export const workerQueue = (prefix: string) => `${prefix}-workers`;
export const partitionQueue = (prefix: string, partition: number) => `${prefix}-p${partition}`;

/** KV buckets of routing: the live workers (membership) and the deployment's partition count. */
export const membersBucket = (prefix: string) => `${prefix}-workers`;
export const routingBucket = (prefix: string) => `${prefix}-routing`;

/** The KV bucket of Idempotency-Key claims (by the keys' hashes): which are in use, for what request. */
export const idempotencyBucket = (prefix: string) => `${prefix}-idempotency`;

/**
 * Queued commands (`Prefer: respond-async`) travel on `<prefix>.queued.<basketId>` into the
 * work-queue stream `<prefix>-commands`, which every worker pulls from through one durable
 * consumer; those given up go to `<prefix>.dead.<basketId>`, kept by `<prefix>-dead-letters`.
 */
export const queuedSubject = (prefix: string, basketId: string) => `${prefix}.queued.${basketId}`;
export const deadLetterSubject = (prefix: string, basketId: string) => `${prefix}.dead.${basketId}`;
export const commandQueueStream = (prefix: string) => `${prefix}-commands`;
export const deadLetterStream = (prefix: string) => `${prefix}-dead-letters`;
export const commandQueueConsumer = "workers";
/** The KV bucket of queued commands' status records. */
export const commandStatusBucket = (prefix: string) => `${prefix}-command-status`;

/**
 * The event relay publishes each event on `<prefix>.events.<EventType>.<basketId>` into the
 * stream `<prefix>-events`: subscribe to one kind of event, one basket, or all.
 */
export const eventSubject = (prefix: string, type: string, basketId: string) =>
  `${prefix}.events.${type.replaceAll(/[^A-Za-z0-9_-]/g, "_")}.${basketId}`;
export const allEventsWildcard = (prefix: string) => `${prefix}.events.>`;
export const basketEventsWildcard = (prefix: string, basketId: string) => `${prefix}.events.*.${basketId}`;
export const eventsStream = (prefix: string) => `${prefix}-events`;

/** What JetStream keeps for the service, as `basket nats check` lists it. */
export interface JetStreamAsset {
  kind: "stream" | "bucket";
  /** The stream's name, or the bucket's. */
  name: string;
  /** The stream that holds it: a KV bucket is the stream `KV_<bucket>`. */
  stream: string;
}

/** Every stream and KV bucket the service makes under a prefix — each made with NATS_REPLICAS replicas. */
export const jetStreamAssets = (prefix: string): JetStreamAsset[] => [
  ...[commandQueueStream, deadLetterStream, eventsStream].map((name) => ({
    kind: "stream" as const,
    name: name(prefix),
    stream: name(prefix),
  })),
  ...[membersBucket, routingBucket, idempotencyBucket, commandStatusBucket].map((name) => ({
    kind: "bucket" as const,
    name: name(prefix),
    stream: `KV_${name(prefix)}`,
  })),
];
