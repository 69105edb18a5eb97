import type { Kysely } from "kysely";
import type { NatsConnection } from "nats";
import { AdminTokens } from "../access/admin-tokens.js";
import { BasketTokens } from "../access/basket-tokens.js";
import { persistedTokenSecret } from "../access/token-secret-file.js";
import { AsyncCommands } from "../commands/async/async-commands.js";
import { InMemoryCommandStatusStore } from "../commands/async/command-status.js";
import { InProcessCommandQueue } from "../commands/async/in-process-command-queue.js";
import type { BasketCommandHandler } from "../commands/basket-command-handler.js";
import { ProductCommandHandler } from "../commands/catalog/product-command-handler.js";
import { InProcessCommandBus } from "../commands/command-bus.js";
import { InMemoryIdempotencyClaims } from "../commands/idempotency-claims.js";
import type { NatsConfig } from "../config/config.js";
import { openReplicaReads } from "../db/read-replica.js";
import type { Tables } from "../db/tables.js";
import { readReplicaProbe } from "../health/probes.js";
import type { HttpAppOptions } from "../http/app.js";
import { IdempotencyKeys } from "../http/idempotency.js";
import type { FeedListeners } from "../live/basket-event-feed.js";
import { KvIdempotencyClaims } from "../nats/commands/kv-idempotency-claims.js";
import { NatsCommandBus } from "../nats/commands/nats-command-bus.js";
import { ensureEventsStream } from "../nats/events/event-relay.js";
import { JetStreamEventFeed } from "../nats/events/jetstream-event-feed.js";
import { idempotencyBucket } from "../nats/names.js";
import { JetStreamCommandQueue } from "../nats/queue/jetstream-command-queue.js";
import { agreeOnPartitions } from "../nats/routing/partition-count.js";
import { BasketQueries } from "../queries/basket-queries.js";
import { CatalogQueries } from "../queries/catalog-queries.js";
import { RevisionWaiter } from "../queries/revision-waiter.js";
import type { ProcessParts } from "./process-parts.js";
import { kvStatuses, queuedCommandProcessor } from "./queued-commands.js";

export type ApiOptions = Pick<HttpAppOptions, "commands" | "queries" | "live" | "access" | "catalog">;

/**
 * The API: commands to the workers over NATS (or, without NATS, to this process's own
 * `handler`), queries against the read model, the live basket feed, and who may do what.
 */
export async function apiParts(
  parts: ProcessParts,
  inProcess: { handler: BasketCommandHandler; feed: FeedListeners } | undefined,
): Promise<ApiOptions> {
  const { config, log, metrics, database, store, nats } = parts;
  const { database: databaseConfig } = config.store;
  const secrets =
    config.access.tokenSecrets ??
    (databaseConfig.kind === "pglite" ? [await persistedTokenSecret(databaseConfig.dataDir)] : []);
  const access = {
    tokens: new BasketTokens(secrets, config.access.tokenLifetimeSeconds),
    admin: new AdminTokens(config.access.adminTokens),
    cookieMaxAgeSeconds: config.access.cookieMaxAgeSeconds,
  };

  const readModel = readModelForQueries(parts);
  const basketQueries = new BasketQueries(readModel, config.queries.hideEmptyBasketsAfterMs);
  // NOTIFY reaches no replica: the waiter listens on the primary, and looks where the queries read.
  const waiter = await RevisionWaiter.open(database, basketQueries, {
    onError: (error) => log.warn({ err: error }, "read-your-writes look failed"),
  });
  parts.stops.push(() => waiter.close());
  const queries = { queries: basketQueries, waiter };
  const catalog = { products: new ProductCommandHandler(store), queries: new CatalogQueries(readModel) };
  // Keys are hashed under a secret every API process shares: the tokens' unless one is given.
  const keys = new IdempotencyKeys(config.access.idempotencySecret ?? (secrets[0] as string));
  // A running claim older than any request may take is one whose process died.
  const staleAfterMs = config.commands.timeoutMs + 5_000;

  if (nats) return { access, queries, catalog, ...(await natsSide(parts, nats, keys, staleAfterMs)) };

  if (!inProcess) throw new Error("without NATS_URL the API needs this process's own command handler");
  const asyncConfig = config.commands.async;
  const statuses = new InMemoryCommandStatusStore(asyncConfig.statusTtlMs);
  const queue = new InProcessCommandQueue(
    queuedCommandProcessor(inProcess.handler, statuses, asyncConfig, log, metrics),
    asyncConfig.maxInFlight,
  );
  parts.stops.push(() => queue.stop());
  const commands = {
    bus: new InProcessCommandBus(inProcess.handler, metrics),
    keys,
    claims: new InMemoryIdempotencyClaims(staleAfterMs),
    asyncCommands: new AsyncCommands(queue, statuses),
  };
  return {
    access,
    queries,
    catalog,
    commands,
    live: {
      store,
      feed: inProcess.feed,
      openStreams: metrics.liveStreams,
      refusedStreams: metrics.liveStreamsRefused,
    },
  };
}

/**
 * The read model as the queries read it: from the streaming replica with DATABASE_READ_URL (the
 * primary standing in while it does not answer), else from the database. Commands, projections,
 * checkpoints and the catalog's writes stay on the primary.
 */
function readModelForQueries({ config, database, log, probes, stops }: ProcessParts): Kysely<Tables> {
  const { readReplica, database: primary } = config.store;
  if (!readReplica || primary.kind !== "postgres") return database.db;
  const reads = openReplicaReads(readReplica, primary, (source) => {
    if (source.from === "primary")
      log.warn({ why: source.why }, "the read replica does not answer: queries read from the primary");
    else log.info("queries read from the read replica again");
  });
  stops.push(() => reads.close());
  probes.readReplica = readReplicaProbe(reads);
  return reads.db;
}

/** Commands to the workers, queued commands and the live feed, all over NATS. */
async function natsSide(
  parts: ProcessParts,
  { nc, config: nats }: { nc: NatsConnection; config: NatsConfig },
  keys: IdempotencyKeys,
  staleAfterMs: number,
): Promise<Pick<ApiOptions, "commands" | "live">> {
  const { config, log, metrics, store } = parts;
  const { replicas } = nats;
  const { timeoutMs } = config.commands;
  await ensureEventsStream(nc, nats.prefix, { duplicateWindowMs: nats.eventsDuplicateWindowMs, replicas });
  const feed = await JetStreamEventFeed.start(nc, nats.prefix, log);
  parts.stops.push(() => feed.stop());
  await agreeOnPartitions(nc, nats.prefix, nats.routing.partitions, replicas);
  const commands = {
    bus: new NatsCommandBus(nc, {
      subjectPrefix: nats.prefix,
      partitions: nats.routing.partitions,
      timeoutMs,
    }),
    keys,
    claims: await KvIdempotencyClaims.open(nc, idempotencyBucket(nats.prefix), {
      staleAfterMs,
      timeoutMs,
      replicas,
    }),
    asyncCommands: new AsyncCommands(
      await JetStreamCommandQueue.open(nc, nats.prefix, { replicas, timeoutMs }),
      await kvStatuses(nc, nats, config.commands),
    ),
  };
  return {
    commands,
    live: { store, feed, openStreams: metrics.liveStreams, refusedStreams: metrics.liveStreamsRefused },
  };
}
