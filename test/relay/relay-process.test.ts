import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { basketStreamPrefix } from "../../src/aggregates/basket/index.js";
import type { Database } from "../../src/db/database.js";
import { PostgresEventStore } from "../../src/eventstore/postgres/postgres-event-store.js";
import { eventsStream } from "../../src/nats/names.js";
import { eventRelay } from "../../src/projections/event-relay.js";
import { operatorEnv } from "../support/baskets.js";
import { runCli } from "../support/cli.js";
import { openTestDatabase } from "../support/databases.js";
import { appendBaskets, dedupeById, readEverything, readJetStream } from "../support/event-streams.js";
import { connectNats, testNatsUrl, uniquePrefix } from "../support/nats.js";
import { startCli } from "../support/processes.js";
import { projectionCaughtUp } from "../support/read-model.js";

/** `basket serve --role projector` with NATS: the event relay as deployed, killed and started again. */
describe("the event relay in a projector process", () => {
  let database: Database & { url?: string };
  let store: PostgresEventStore;
  const prefix = uniquePrefix("relayp");
  const nc = connectNats("test-relay-process");
  let env: Record<string, string>;
  beforeAll(async () => {
    database = await openTestDatabase("postgres");
    store = new PostgresEventStore(database);
    env = {
      DATABASE_URL: database.url as string,
      NATS_URL: testNatsUrl,
      NATS_SUBJECT_PREFIX: prefix,
      PORT: "0",
    };
  });
  afterAll(async () => {
    await (await (await nc).jetstreamManager()).streams.delete(eventsStream(prefix)).catch(() => {});
    await (await nc).close();
    await store?.close();
  });

  const projector = async () => {
    const started = startCli(["serve", "--role", "projector"], env);
    await started.waitFor(
      (line) => line.msg === "active runner" && line.projection === eventRelay.name,
      30_000,
    );
    return started;
  };
  const storedInStream = async () =>
    (await (await (await nc).jetstreamManager()).streams.info(eventsStream(prefix))).state.messages;

  it("misses and duplicates nothing downstream when the relay is killed in the middle of a backlog", async () => {
    await appendBaskets(store, 400, 20); // 8,000 events waiting
    const first = await projector();
    await expect.poll(storedInStream, { timeout: 30_000, interval: 10 }).toBeGreaterThan(1_500);
    first.child.kill("SIGKILL");
    await first.exited;
    const atKill = await storedInStream();
    expect(atKill).toBeLessThan(8_000);

    const second = await projector();
    try {
      await projectionCaughtUp(database, store, eventRelay.name, 60_000);
      const events = (await readEverything(store)).filter((event) =>
        event.stream.startsWith(basketStreamPrefix),
      );
      const published = await readJetStream(await nc, eventsStream(prefix));
      // The batch in flight when it died was published again; JetStream dropped the copies.
      expect(published.map((event) => event.id)).toEqual(events.map((event) => event.id));
      expect(dedupeById(published)).toHaveLength(8_000);
      // Each basket's events in revision order.
      const revisions = new Map<string, number>();
      for (const { line } of published) {
        expect(Number(line.revision)).toBe((revisions.get(line.stream) ?? -1) + 1);
        revisions.set(line.stream, Number(line.revision));
      }
      console.log(
        `relay killed after ${atKill} of 8000 events stored; the restarted relay published the rest`,
      );

      // An operator sees it among the projections, and can have it publish everything again.
      const status = await runCli(["projections", "status", eventRelay.name, "--json"], env);
      expect(status.code).toBe(0);
      expect(JSON.parse(status.stdout)).toMatchObject({
        name: "event-relay",
        state: "running",
        tables: [],
        lag: { events: 0 },
        eventsApplied: expect.any(Number),
      });
      const dryRun = await runCli(["projections", "rebuild", eventRelay.name, "--dry-run"], env);
      expect(dryRun.code).toBe(0);
      expect(dryRun.stdout).toMatch(
        /dry run — nothing changed\. event-relay: would publish again from the start/,
      );
      expect(dryRun.stdout).toMatch(/8000 published again/);

      const rebuild = await runCli(["projections", "rebuild", eventRelay.name, "--json"], {
        ...env,
        ...operatorEnv,
      });
      expect(rebuild.code).toBe(0);
      expect(JSON.parse(rebuild.stdout)).toMatchObject({ from: null, eventsToDeliver: 8_000 });
      await second.waitFor((line) => /the checkpoint moved/.test(String(line.msg)), 10_000);
      await projectionCaughtUp(database, store, eventRelay.name, 60_000);
      // Within the duplicate window every copy was dropped: still one message per event.
      expect(await storedInStream()).toBe(8_000);

      const ahead = events[10]?.checkpoint as string;
      const refused = await runCli(["projections", "rebuild", "baskets", "--from", ahead], {
        ...env,
        ...operatorEnv,
      });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/--from is for the event relay/);
    } finally {
      second.child.kill("SIGTERM");
      expect(await second.exited).toBe(0);
    }
  }, 120_000);
});
