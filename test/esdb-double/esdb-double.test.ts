import { randomUUID } from "node:crypto";
import {
  type AllStreamResolvedEvent,
  EventStoreDBClient,
  jsonEvent,
  NO_STREAM,
  type Position,
  START,
  StreamNotFoundError,
  streamNameFilter,
  WrongExpectedVersionError,
} from "@eventstore/db-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestEsdb, type TestEsdb } from "../support/esdb.js";

/**
 * What the EventStoreDB adapter relies on, asked of the server through the client itself. On the
 * test double in CI; with ESDB_URL set the same assertions run against a real server, which is
 * how the double is kept honest.
 */
describe("EventStoreDB as the client sees it", () => {
  let esdb: TestEsdb;
  let client: EventStoreDBClient;
  beforeAll(async () => {
    esdb = await startTestEsdb();
    client = EventStoreDBClient.connectionString(esdb.url);
  });
  afterAll(async () => {
    await client?.dispose();
    await esdb?.stop();
  });

  const stream = () => `${esdb.namespace}wire-${randomUUID()}`;
  const event = (n: number) =>
    jsonEvent({ type: "Happened", data: { n }, metadata: { $correlationId: "c-1" } });
  const readAll = async (fromPosition: Position) => {
    const events: AllStreamResolvedEvent[] = [];
    for await (const resolved of client.readAll({ fromPosition, maxCount: 3 })) events.push(resolved);
    return events;
  };

  it("appends with an expected revision and answers the last revision and position as bigints", async () => {
    const name = stream();
    const first = await client.appendToStream(name, [event(1), event(2)], { expectedRevision: NO_STREAM });
    expect(first).toMatchObject({ success: true, nextExpectedRevision: 1n });
    expect(typeof first.position?.commit).toBe("bigint");
    const second = await client.appendToStream(name, event(3), { expectedRevision: 1n });
    expect(second.nextExpectedRevision).toBe(2n);
    expect(second.position?.commit).toBeGreaterThan(first.position?.commit as bigint);
  });

  it("refuses a wrong expected revision with the expected and the actual revision", async () => {
    const name = stream();
    await client.appendToStream(name, [event(1), event(2)], { expectedRevision: NO_STREAM });
    const stale = await client.appendToStream(name, event(3), { expectedRevision: 0n }).catch((e) => e);
    expect(stale).toBeInstanceOf(WrongExpectedVersionError);
    expect(stale).toMatchObject({ streamName: name, expectedVersion: 0n, actualVersion: 1n });
    const missing = await client.appendToStream(stream(), event(1), { expectedRevision: 4n }).catch((e) => e);
    expect(missing).toMatchObject({ expectedVersion: 4n, actualVersion: "no_stream" });
    const exists = await client
      .appendToStream(name, event(3), { expectedRevision: NO_STREAM })
      .catch((e) => e);
    expect(exists).toMatchObject({ expectedVersion: "no_stream", actualVersion: 1n });
  });

  it("reads a stream with each event's $all position, JSON data, metadata and creation time", async () => {
    const name = stream();
    const before = Date.now();
    const appended = await client.appendToStream(name, [event(1), event(2)], { expectedRevision: NO_STREAM });
    const read = [];
    for await (const resolved of client.readStream(name, { fromRevision: START })) read.push(resolved.event);
    expect(read.map((e) => [e?.revision, e?.type, e?.data, e?.metadata])).toEqual([
      [0n, "Happened", { n: 1 }, { $correlationId: "c-1" }],
      [1n, "Happened", { n: 2 }, { $correlationId: "c-1" }],
    ]);
    // The append answers the last event's position; the stream read carries each one's.
    expect(read[1]?.position).toEqual(appended.position);
    expect(read[0]?.position?.commit).toBeLessThan(appended.position?.commit as bigint);
    // `created` is .NET ticks on the wire; the client makes a Date of it, to the millisecond.
    expect(read[0]?.created.getTime()).toBeGreaterThanOrEqual(before - 60_000);
    expect(read[0]?.created.getTime()).toBeLessThanOrEqual(Date.now() + 60_000);
  });

  it("answers a read of a missing stream with stream-not-found", async () => {
    const missing = stream();
    const error = await (async () => {
      for await (const _ of client.readStream(missing)) return "read an event";
      return "read nothing";
    })().catch((e) => e);
    expect(error).toBeInstanceOf(StreamNotFoundError);
  });

  it("reads $all from a position including the event there; subscribes after it, excluding it", async () => {
    const name = stream();
    await client.appendToStream(name, [event(1), event(2), event(3)], { expectedRevision: NO_STREAM });
    const [first] = await (async () => {
      const read = [];
      for await (const resolved of client.readStream(name)) read.push(resolved.event);
      return read;
    })();
    const from = first?.position as Position;
    expect((await readAll(from))[0]?.event?.id).toBe(first?.id);

    const subscription = client.subscribeToAll({
      fromPosition: from,
      filter: streamNameFilter({ prefixes: [name] }),
    });
    const seen: bigint[] = [];
    for await (const resolved of subscription) {
      seen.push(resolved.event?.revision as bigint);
      if (seen.length === 2) break;
    }
    await subscription.unsubscribe();
    expect(seen).toEqual([1n, 2n]);
  });

  it("filters a subscription on the server and reports checkpoints as it looks past other streams", async () => {
    const mine = stream();
    const checkpoints: Position[] = [];
    const subscription = client.subscribeToAll({
      fromPosition: START,
      filter: streamNameFilter({
        prefixes: [mine],
        checkpointReached: (_subscription, position) => {
          checkpoints.push(position);
        },
      }),
    });
    const caughtUp = new Promise((resolve) => subscription.once("caughtUp", resolve));
    const received: AllStreamResolvedEvent[] = [];
    subscription.on("data", (resolved) => received.push(resolved));
    await caughtUp;
    const others = stream();
    // Every 32 events considered (the default window × checkpointInterval 1), matching or not.
    for (let i = 0; i < 70; i++) await client.appendToStream(others, event(i));
    const written = await client.appendToStream(mine, event(99), { expectedRevision: NO_STREAM });
    await expect.poll(() => received.length, { timeout: 10_000 }).toBe(1);
    await expect.poll(() => checkpoints.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
    await subscription.unsubscribe();
    expect(received[0]?.event?.streamId).toBe(mine);
    expect(typeof checkpoints[0]?.commit).toBe("bigint");
    for (const checkpoint of checkpoints)
      expect(checkpoint.commit).toBeLessThanOrEqual(written.position?.commit as bigint);
  });
});
