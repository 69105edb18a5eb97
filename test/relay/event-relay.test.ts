import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { basketStreamPrefix } from "../../src/aggregates/basket/index.js";
import type { Database } from "../../src/db/database.js";
import { toEventLine } from "../../src/eventstore/event-line.js";
import type { RecordedEvent } from "../../src/eventstore/port.js";
import { PostgresEventStore } from "../../src/eventstore/postgres/postgres-event-store.js";
import { ensureEventsStream, eventRelayProjection } from "../../src/nats/events/event-relay.js";
import { eventSubject, eventsStream } from "../../src/nats/names.js";
import { eventRelay } from "../../src/projections/event-relay.js";
import {
  defaultRunnerOptions,
  ProjectionRunner,
  type RunnerOptions,
} from "../../src/projections/projection-runner.js";
import { redeliver } from "../../src/projections/rebuild/redeliver.js";
import { openTestDatabase } from "../support/databases.js";
import { appendBaskets, dedupeById, readEverything, readJetStream } from "../support/event-streams.js";
import { connectNats, uniquePrefix } from "../support/nats.js";
import { projectionCaughtUp } from "../support/read-model.js";

const log = pino({ level: "silent" });

/** A database, a JetStream events stream and relay runners of their own. */
async function relaySetup(duplicateWindowMs: number) {
  const database = await openTestDatabase("postgres");
  const store = new PostgresEventStore(database);
  const nc = await connectNats("test-relay");
  const prefix = uniquePrefix("relay");
  await ensureEventsStream(nc, prefix, { duplicateWindowMs, replicas: 1 });
  const runners: ProjectionRunner[] = [];
  return {
    database,
    store,
    nc,
    prefix,
    start(options: Partial<RunnerOptions> = {}) {
      const runner = new ProjectionRunner(
        database,
        store,
        eventRelayProjection(nc, prefix, { duplicateWindowMs, replicas: 1 }),
        {
          ...defaultRunnerOptions,
          owner: "test",
          standbyRetryMs: 100,
          log,
          ...options,
        },
      );
      runners.push(runner);
      runner.start();
      return runner;
    },
    async basketEvents(): Promise<RecordedEvent[]> {
      return (await readEverything(store)).filter((event) => event.stream.startsWith(basketStreamPrefix));
    },
    published: () => readJetStream(nc, eventsStream(prefix)),
    async stop() {
      for (const runner of runners) await runner.stop();
      await (await nc.jetstreamManager()).streams.delete(eventsStream(prefix)).catch(() => {});
      await nc.close();
      await store.close();
    },
  };
}

const asPublished = (prefix: string) => (event: RecordedEvent) => ({
  subject: eventSubject(prefix, event.type, event.stream.slice(basketStreamPrefix.length)),
  id: event.id,
  line: toEventLine(event),
});

describe("the event relay", () => {
  let setup: Awaited<ReturnType<typeof relaySetup>>;
  beforeAll(async () => {
    setup = await relaySetup(60_000);
  });
  afterAll(() => setup?.stop());

  it("publishes every stored basket event, in log order, by type and basket, with Nats-Msg-Id = event id", async () => {
    const { store, database, prefix } = setup;
    await appendBaskets(store, 10, 5);
    await store.append("other-stream", [{ type: "SomethingElse", data: {} }], "no_stream");
    let commits = 0;
    const runner = setup.start({ batchSize: 7, onBatch: () => commits++ });
    await projectionCaughtUp(database, store, eventRelay.name);
    await runner.stop();

    const events = await setup.basketEvents();
    expect(events).toHaveLength(50);
    expect(commits).toBe(Math.ceil(50 / 7));
    expect(await setup.published()).toEqual(events.map(asPublished(prefix)));

    // Another service takes just the kind of event it cares about, or one basket's.
    const js = setup.nc.jetstream();
    const added = await js.consumers.get(eventsStream(prefix), {
      filterSubjects: `${prefix}.events.BasketCreated.*`,
    });
    const created: string[] = [];
    for await (const message of await added.consume()) {
      created.push(message.headers?.get("Nats-Msg-Id") as string);
      if (message.info.pending === 0) break;
    }
    expect(created).toEqual(
      events.filter((event) => event.type === "BasketCreated").map((event) => event.id),
    );
  });

  it("publishes a batch again when its checkpoint did not commit, and the stream keeps each event once", async () => {
    const { store, database, nc, prefix } = setup;
    const before = (await setup.basketEvents()).length;
    await appendBaskets(store, 4, 5);
    let failures = 0;
    const runner = setup.start({
      beforeCommit: () => {
        // Published, then the transaction that would move the checkpoint fails: twice.
        if (failures++ < 2) throw new Error("dies before the checkpoint commits");
      },
    });
    await projectionCaughtUp(database, store, eventRelay.name);
    await runner.stop();
    expect(failures).toBe(3);

    const jsm = await nc.jetstreamManager();
    expect((await jsm.streams.info(eventsStream(prefix))).state.messages).toBe(before + 20);
    expect(await setup.published()).toEqual((await setup.basketEvents()).map(asPublished(prefix)));
  });
});

describe("the event relay past the stream's duplicate window", () => {
  let setup: Awaited<ReturnType<typeof relaySetup>>;
  beforeAll(async () => {
    setup = await relaySetup(1_000);
  });
  afterAll(() => setup?.stop());

  it("stores copies when it publishes again later, which a consumer deduping by id drops", async () => {
    const { store, database } = setup;
    await appendBaskets(store, 5, 4);
    const runner = setup.start();
    await projectionCaughtUp(database, store, eventRelay.name);
    await new Promise((resolve) => setTimeout(resolve, 1_500)); // the duplicate window passes
    await redeliver((database as Database).db, eventRelay, undefined, "test");
    await expect
      .poll(async () => (await setup.published()).length, { timeout: 10_000, interval: 100 })
      .toBe(40);
    await runner.stop();

    const published = await setup.published();
    const events = await setup.basketEvents();
    expect(published.map((event) => event.id)).toEqual([...events, ...events].map((event) => event.id));
    expect(dedupeById(published)).toEqual(events.map(asPublished(setup.prefix)));
  });
});
