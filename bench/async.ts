/**
 * Queued commands and the event relay, on PostgreSQL and the local NATS:
 * - queued commands: accepted per second (the 202 path: a JetStream publish and a KV create) and
 *   handled per second end to end by two workers pulling from the work queue;
 * - the event relay: a backlog of 50,000 events published per second, then its lag (the time
 *   from an event's append to its arrival at a subscriber) under a steady command load.
 *   npm run bench   (or: npx tsx bench/async.ts)
 */
import { pino } from "pino";
import { v7 as uuidv7 } from "uuid";
import { BasketCommandHandler } from "../src/commands/basket-command-handler.js";
import { PostgresEventStore } from "../src/eventstore/postgres/postgres-event-store.js";
import { ensureEventsStream, eventRelayProjection } from "../src/nats/events/event-relay.js";
import { commandQueueConsumer, commandQueueStream, eventsStream } from "../src/nats/names.js";
import { defaultRunnerOptions, ProjectionRunner } from "../src/projections/projection-runner.js";
import { skuPool } from "../test/support/catalog.js";
import { startCommandCluster } from "../test/support/command-cluster.js";
import { openTestDatabase } from "../test/support/databases.js";
import { appendBaskets } from "../test/support/event-streams.js";
import { connectNats, uniquePrefix } from "../test/support/nats.js";
import { projectionCaughtUp } from "../test/support/read-model.js";
import { drive, summarise } from "./stats.js";

const log = pino({ level: "silent" });

async function queuedCommands(total: number) {
  const cluster = await startCommandCluster({
    workers: 2,
    async: { maxInFlight: 32, ackWaitMs: 30_000, statusTtlMs: 600_000 },
  });
  const skus = skuPool(40);
  try {
    await cluster.seedCatalog(skus);
    const handler = new BasketCommandHandler(cluster.store);
    const baskets = Array.from({ length: 500 }, () => uuidv7());
    for (const basketId of baskets)
      await handler.handle({
        commandId: uuidv7(),
        basketId,
        command: { type: "CreateBasket", data: { basketId } },
      });

    const started = performance.now();
    const accepted = await drive(total, 32, (i) =>
      cluster.asyncCommands.submit({
        commandId: uuidv7(),
        basketId: baskets[i % baskets.length] as string,
        command: {
          type: "AddItem",
          data: { sku: skus[Math.floor(i / baskets.length) % skus.length] as string, quantity: 1 },
        },
      }),
    );
    const jsm = await cluster.apiNc.jetstreamManager();
    for (;;) {
      const info = await jsm.consumers.info(commandQueueStream(cluster.prefix), commandQueueConsumer);
      if (info.num_pending === 0 && info.num_ack_pending === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const handledMs = performance.now() - started;
    return {
      accepted: summarise("queued commands accepted (202 path)", accepted.latencies, accepted.elapsedMs),
      handled: {
        label: "queued commands handled end to end, 2 workers",
        perSecond: Math.round((total / handledMs) * 1000),
      },
    };
  } finally {
    await cluster.stop();
  }
}

async function relay(backlog: number) {
  const database = await openTestDatabase("postgres");
  const store = new PostgresEventStore(database);
  const nc = await connectNats("bench-relay");
  const prefix = uniquePrefix("benchrelay");
  const eventsSettings = { duplicateWindowMs: 120_000, replicas: 1 };
  await ensureEventsStream(nc, prefix, eventsSettings);
  const runner = new ProjectionRunner(database, store, eventRelayProjection(nc, prefix, eventsSettings), {
    ...defaultRunnerOptions,
    batchSize: 1_000,
    owner: "bench",
    log,
  });
  try {
    await appendBaskets(store, backlog / 20, 20, 16);
    const started = performance.now();
    runner.start();
    await projectionCaughtUp(database, store, "event-relay", 600_000);
    const backlogMs = performance.now() - started;

    // Lag under load: commands at a steady rate; each event timed from its append to its arrival.
    const lags: number[] = [];
    const subscription = nc.subscribe(`${prefix}.events.>`, {
      callback: (_error, message) => {
        const { recordedAt } = message.json<{ recordedAt: string }>();
        lags.push(Date.now() - new Date(recordedAt).getTime());
      },
    });
    const handler = new BasketCommandHandler(store);
    const perSecond = 500;
    const seconds = 10;
    const loadStarted = performance.now();
    await Promise.all(
      Array.from({ length: perSecond * seconds }, async (_, i) => {
        await new Promise((resolve) => setTimeout(resolve, (i / perSecond) * 1000));
        const basketId = uuidv7();
        await handler.handle({
          commandId: uuidv7(),
          basketId,
          command: { type: "CreateBasket", data: { basketId } },
        });
      }),
    );
    await projectionCaughtUp(database, store, "event-relay", 60_000);
    await nc.flush();
    subscription.unsubscribe();
    return {
      backlog: {
        label: `relay: backlog of ${backlog} events`,
        perSecond: Math.round((backlog / backlogMs) * 1000),
      },
      lag: summarise(
        `relay lag at ${perSecond} events/s (append → subscriber)`,
        lags,
        performance.now() - loadStarted,
      ),
    };
  } finally {
    await runner.stop();
    await (await nc.jetstreamManager()).streams.delete(eventsStream(prefix)).catch(() => {});
    await nc.close();
    await store.close();
  }
}

const queued = await queuedCommands(5_000);
console.log(queued.accepted);
console.log(queued.handled);
const relayed = await relay(50_000);
console.log(relayed.backlog);
const { label, operations, p50Ms, p99Ms } = relayed.lag;
console.log({ label, events: operations, p50Ms, p99Ms });
