import { AdminTokens } from "../access/admin-tokens.js";
import { BasketTokens } from "../access/basket-tokens.js";
import { persistedTokenSecret } from "../access/token-secret-file.js";
import { AsyncCommands } from "../commands/async/async-commands.js";
import { InMemoryCommandStatusStore } from "../commands/async/command-status.js";
import { InProcessCommandQueue } from "../commands/async/in-process-command-queue.js";
import type { BasketCommandHandler } from "../commands/basket-command-handler.js";
import { InProcessCommandBus } from "../commands/command-bus.js";
import { InMemoryCreateKeys } from "../commands/create-keys.js";
import { JetStreamCommandQueue } from "../commands/nats/jetstream-command-queue.js";
import { KvCreateKeys } from "../commands/nats/kv-create-keys.js";
import { NatsCommandBus } from "../commands/nats/nats-command-bus.js";
import { agreeOnPartitions } from "../commands/routing/routing-config.js";
import type { HttpAppOptions } from "../http/app.js";
import type { FeedListeners } from "../live/basket-event-feed.js";
import { JetStreamEventFeed } from "../live/jetstream-event-feed.js";
import { BasketQueries } from "../queries/basket-queries.js";
import { RevisionWaiter } from "../queries/revision-waiter.js";
import { ensureEventsStream } from "../relay/event-relay.js";
import type { ProcessParts } from "./process-parts.js";
import { kvStatuses, queuedCommandProcessor } from "./worker-part.js";

export type ApiOptions = Pick<HttpAppOptions, "commands" | "queries" | "live" | "access">;

/**
 * The API: commands to the workers over NATS (or, without NATS, to this process's own
 * `handler`), queries against the read model, the live basket feed, and who may do what.
 */
export async function apiParts(
  parts: ProcessParts,
  inProcess: { handler: BasketCommandHandler; feed: FeedListeners } | undefined,
): Promise<ApiOptions> {
  const { config, log, metrics, database, store, nc } = parts;
  const secrets =
    config.access.tokenSecrets ??
    (config.database.kind === "pglite" ? [await persistedTokenSecret(config.database.dataDir)] : []);
  const access = {
    tokens: new BasketTokens(secrets),
    admin: new AdminTokens(config.access.adminTokens),
    cookieMaxAgeSeconds: config.access.cookieMaxAgeSeconds,
  };

  const basketQueries = new BasketQueries(database.db);
  const waiter = await RevisionWaiter.open(database, basketQueries, {
    onError: (error) => log.warn({ err: error }, "read-your-writes look failed"),
  });
  parts.stops.push(() => waiter.close());
  const queries = { queries: basketQueries, waiter };

  if (nc) {
    await ensureEventsStream(nc, config.subjectPrefix, config.eventsDuplicateWindowMs);
    const feed = await JetStreamEventFeed.start(nc, config.subjectPrefix, log);
    parts.stops.push(() => feed.stop());
    await agreeOnPartitions(nc, config.subjectPrefix, config.routing.partitions);
    const commands = {
      bus: new NatsCommandBus(nc, {
        subjectPrefix: config.subjectPrefix,
        partitions: config.routing.partitions,
        timeoutMs: config.commandTimeoutMs,
      }),
      createKeys: await KvCreateKeys.open(nc, `${config.subjectPrefix}-create-keys`, config.commandTimeoutMs),
      asyncCommands: new AsyncCommands(
        await JetStreamCommandQueue.open(nc, config.subjectPrefix),
        await kvStatuses(nc, config),
      ),
    };
    return { access, queries, commands, live: { store, feed, openStreams: metrics.liveStreams } };
  }

  if (!inProcess) throw new Error("without NATS_URL the API needs this process's own command handler");
  const statuses = new InMemoryCommandStatusStore(config.asyncCommands.statusTtlMs);
  const queue = new InProcessCommandQueue(
    queuedCommandProcessor(inProcess.handler, statuses, config, log, metrics),
    config.asyncCommands.maxInFlight,
  );
  parts.stops.push(() => queue.stop());
  const commands = {
    bus: new InProcessCommandBus(inProcess.handler, metrics),
    createKeys: new InMemoryCreateKeys(),
    asyncCommands: new AsyncCommands(queue, statuses),
  };
  return {
    access,
    queries,
    commands,
    live: { store, feed: inProcess.feed, openStreams: metrics.liveStreams },
  };
}
