import { randomUUID } from "node:crypto";
import { type JetStreamManager, type NatsConnection, nanos } from "nats";
import { afterAll, beforeAll, describe, it } from "vitest";
import type { Database } from "../../src/db/database.js";
import { toEventLine } from "../../src/eventstore/event-line.js";
import type { RecordedEvent } from "../../src/eventstore/port.js";
import { PostgresEventStore } from "../../src/eventstore/postgres/postgres-event-store.js";
import { operatorEnv } from "../support/baskets.js";
import { runCli } from "../support/cli.js";
import { openTestDatabase } from "../support/databases.js";
import { readEverything } from "../support/event-streams.js";
import { connectNats, testNatsUrl, uniquePrefix } from "../support/nats.js";

// Each test publishes on subjects of its own and mostly waits for the CLI process: concurrent.
describe.concurrent("basket events replay", () => {
  const prefix = uniquePrefix("replay");
  const jetStream = `${prefix}-events`;
  const pacedStream = `${prefix}-paced`;
  let database: Database & { url?: string };
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let log: RecordedEvent[];
  let baskets: RecordedEvent[];
  const replay = (...args: string[]) =>
    runCli(["events", "replay", ...args], {
      DATABASE_URL: database.url as string,
      NATS_URL: testNatsUrl,
      ...operatorEnv,
    });

  beforeAll(async () => {
    database = await openTestDatabase("postgres");
    const store = new PostgresEventStore(database);
    // 20 basket events of four baskets in turns, and 4 events of another kind of stream among them.
    const streams = Array.from({ length: 4 }, () => `basket-${randomUUID()}`);
    for (let i = 0; i < 20; i++) {
      await store.append(streams[i % 4] as string, [{ type: "Noted", data: { i } }], "any");
      if (i % 5 === 0)
        await store.append(`other-${randomUUID()}`, [{ type: "Other", data: { i } }], "no_stream");
    }
    log = await readEverything(store);
    baskets = log.filter((event) => event.stream.startsWith("basket-"));
    nc = await connectNats("test-replay");
    jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: jetStream, subjects: [`${prefix}.js.>`], duplicate_window: nanos(60_000) });
    await jsm.streams.add({ name: pacedStream, subjects: [`${prefix}.paced`] });
  });
  afterAll(async () => {
    for (const name of [jetStream, pacedStream]) await jsm?.streams.delete(name).catch(() => {});
    await nc?.close();
    await database?.close();
  });

  /** Core NATS messages on a subject. */
  const listen = async (subject: string) => {
    const received: { id: string | undefined; line: unknown }[] = [];
    const subscription = nc.subscribe(subject, {
      callback: (_error, message) =>
        received.push({ id: message.headers?.get("Nats-Msg-Id"), line: message.json() }),
    });
    await nc.flush(); // the server knows of the subscription before anyone publishes
    return { received, stop: () => subscription.unsubscribe() };
  };

  /** Everything a JetStream stream holds, through a consumer, with the time the server stored each. */
  const consume = async (stream: string) => {
    const consumer = await nc.jetstream().consumers.get(stream);
    const delivered: { id: string | undefined; line: unknown; storedMs: number }[] = [];
    for await (const message of await consumer.fetch({ max_messages: 100, expires: 1_000 })) {
      delivered.push({
        id: message.headers?.get("Nats-Msg-Id"),
        line: message.json(),
        storedMs: message.info.timestampNanos / 1e6,
      });
    }
    return delivered;
  };

  it("stores each event once in a JetStream stream, even when the replay runs twice", async ({ expect }) => {
    const subject = `${prefix}.js.events`;
    const first = await replay("--subject", subject, "--stream-prefix", "basket-");
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(
      `Replayed 20 events to ${subject} (JetStream stream ${jetStream}: 20 stored, 0 duplicates dropped).`,
    );
    expect(first.stderr).toMatch(/^replay: 20 events in/m);
    const second = await replay("--from", "start", "--subject", subject, "--stream-prefix", "basket-");
    expect(second.code).toBe(0);
    expect(second.stdout).toContain(`(JetStream stream ${jetStream}: 0 stored, 20 duplicates dropped).`);

    expect((await jsm.streams.info(jetStream)).state.messages).toBe(20);
    const delivered = await consume(jetStream);
    expect(delivered.map(({ id, line }) => ({ id, line }))).toEqual(
      baskets.map((event) => ({ id: event.id, line: toEventLine(event) })),
    );
  });

  it("publishes with core NATS and a Nats-Msg-Id header when no stream captures the subject", async ({
    expect,
  }) => {
    const subject = `${prefix}.core.all`;
    const listener = await listen(subject);
    const run = await replay("--subject", subject, "--stream-prefix", "basket-");
    listener.stop();
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(
      `Replayed 20 events to ${subject} (core NATS: no JetStream stream captures the subject).`,
    );
    expect(listener.received).toEqual(baskets.map((event) => ({ id: event.id, line: toEventLine(event) })));
  });

  it("publishes no faster than --rate", async ({ expect }) => {
    const run = await replay("--subject", `${prefix}.paced`, "--stream-prefix", "basket-", "--rate", "40");
    expect(run.code).toBe(0);
    const stored = await consume(pacedStream);
    expect(stored.map(({ id }) => id)).toEqual(baskets.map((event) => event.id));
    // 20 messages at 40 a second: 19 intervals of 25 ms between the first and the last, as the
    // server stored them (its clock, not this busy test process's).
    const spread = (stored.at(-1)?.storedMs ?? 0) - (stored[0]?.storedMs ?? 0);
    expect(spread).toBeGreaterThanOrEqual(450);
  });

  it("replays the range after --from up to and including --until", async ({ expect }) => {
    const subject = `${prefix}.core.range`;
    const listener = await listen(subject);
    const [from, until] = [log[4]?.checkpoint as string, log[12]?.checkpoint as string];
    const run = await replay("--from", from, "--until", until, "--subject", subject);
    listener.stop();
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`Replayed 8 events to ${subject}`);
    expect(run.stdout).toContain(`Last checkpoint: ${until} (--from it to go on).`);
    expect(listener.received.map(({ id }) => id)).toEqual(log.slice(5, 13).map((event) => event.id));
  });
});
