import { randomUUID } from "node:crypto";
import {
  type AllStreamResolvedEvent,
  EventStoreDBClient,
  jsonEvent,
  MaxAppendSizeExceededError,
  NO_STREAM,
  type Position,
  type RecordedEvent,
  StreamDeletedError,
  StreamNotFoundError,
  streamNameFilter,
  WrongExpectedVersionError,
} from "@eventstore/db-client";
import streamsGrpc from "@eventstore/db-client/generated/streams_grpc_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { realEsdbUrl, startTestEsdb, type TestEsdb } from "../support/esdb.js";
import type { ServerVersion } from "./server-versions.js";

/**
 * What the EventStoreDB adapter relies on, and what the double claims, asked of the server
 * through the client itself. On the double, once for each server version it plays; with ESDB_URL
 * set, the same assertions run against that real server (of any supported version, in its
 * default settings), which is how the double is kept honest. Where versions differ, the test
 * asks the server which one it is.
 */
const versions: (ServerVersion | undefined)[] = realEsdbUrl ? [undefined] : ["22.10", "23.10", "24.10"];

for (const version of versions)
  describe(`EventStoreDB as the client sees it${version ? ` (the double as ${version})` : ""}`, () => {
    let esdb: TestEsdb;
    let client: EventStoreDBClient;
    /** The server's version, as ServerFeatures tells the client: [major, minor]. */
    let server: [number, number];
    const atLeast = (major: number, minor: number) =>
      server[0] > major || (server[0] === major && server[1] >= minor);
    beforeAll(async () => {
      esdb = await startTestEsdb(version ? { version } : {});
      client = EventStoreDBClient.connectionString(esdb.url);
      const [major, minor] = (await features(client)).serverVersion.split(".").map(Number);
      server = [major as number, minor as number];
    });
    afterAll(async () => {
      await client?.dispose();
      await esdb?.stop();
    });

    const stream = () => `${esdb.namespace}wire-${randomUUID()}`;
    const event = (n: number, id?: string) =>
      jsonEvent({
        type: "Happened",
        data: { n },
        metadata: { $correlationId: "c-1" },
        ...(id ? { id } : {}),
      });
    const readStream = async (name: string) => {
      const read: RecordedEvent[] = [];
      for await (const resolved of client.readStream(name)) if (resolved.event) read.push(resolved.event);
      return read;
    };
    const readAll = async (fromPosition: Position, maxCount = 3) => {
      const events: AllStreamResolvedEvent[] = [];
      for await (const resolved of client.readAll({ fromPosition, maxCount })) events.push(resolved);
      return events;
    };
    /** The `$all` position of a stream's last event. */
    const positionOfLast = async (name: string) => (await readStream(name)).at(-1)?.position as Position;
    /** A filtered subscription's messages, as they come. */
    const subscribe = (fromPosition: Position, prefix: string) => {
      const seen: {
        kind: "event" | "checkpoint" | "caughtUp";
        position?: Position;
        event?: RecordedEvent;
      }[] = [];
      const subscription = client.subscribeToAll({
        fromPosition,
        filter: streamNameFilter({
          prefixes: [prefix],
          checkpointReached: (_subscription, position) => {
            seen.push({ kind: "checkpoint", position });
          },
        }),
      });
      subscription.on("data", (resolved) => {
        if (resolved.event) seen.push({ kind: "event", event: resolved.event });
      });
      subscription.on("caughtUp", () => seen.push({ kind: "caughtUp" }));
      const confirmed = new Promise((resolve) => subscription.once("confirmation", resolve));
      return { subscription, seen, confirmed };
    };
    const events = (seen: ReturnType<typeof subscribe>["seen"]) =>
      seen.flatMap((message) => (message.event ? [message.event] : []));

    describe("appending", () => {
      it("advertises BatchAppend, which the client then appends through (every server since 21.10)", async () => {
        expect((await features(client)).supports(streamsGrpc.StreamsService.batchAppend)).toBe(true);
      });

      it("appends with an expected revision and answers the last revision and position as bigints", async () => {
        const name = stream();
        const first = await client.appendToStream(name, [event(1), event(2)], {
          expectedRevision: NO_STREAM,
        });
        expect(first).toMatchObject({ success: true, nextExpectedRevision: 1n });
        expect(typeof first.position?.commit).toBe("bigint");
        // The answer's position is the last event's.
        expect(first.position).toEqual(await positionOfLast(name));
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
        const missing = await client
          .appendToStream(stream(), event(1), { expectedRevision: 4n })
          .catch((e) => e);
        expect(missing).toMatchObject({ expectedVersion: 4n, actualVersion: "no_stream" });
        const exists = await client
          .appendToStream(name, event(3), { expectedRevision: NO_STREAM })
          .catch((e) => e);
        expect(exists).toMatchObject({ expectedVersion: "no_stream", actualVersion: 1n });
      });

      it("takes ids again as a retry: with any or a passed revision it answers the original revision and writes nothing", async () => {
        const name = stream();
        const [a, b] = [randomUUID(), randomUUID()];
        await client.appendToStream(name, [event(1, a), event(2, b)], { expectedRevision: NO_STREAM });
        await client.appendToStream(name, event(3), { expectedRevision: 1n });
        const withAny = await client.appendToStream(name, [event(1, a), event(2, b)]);
        expect(withAny).toMatchObject({ success: true, nextExpectedRevision: 1n });
        const stale = await client.appendToStream(name, [event(1, a), event(2, b)], {
          expectedRevision: NO_STREAM,
        });
        expect(stale).toMatchObject({ success: true, nextExpectedRevision: 1n });
        expect(stale.position).toEqual((await readStream(name))[1]?.position);
        // Some of them only: not a retry, a conflict.
        const partly = await client
          .appendToStream(name, [event(1, a), event(9)], { expectedRevision: NO_STREAM })
          .catch((e) => e);
        expect(partly).toBeInstanceOf(WrongExpectedVersionError);
        expect((await readStream(name)).map((e) => e.revision)).toEqual([0n, 1n, 2n]);
        // At the stream's own revision the ids are not looked at: they are written again.
        await client.appendToStream(name, [event(1, a)], { expectedRevision: 2n });
        expect((await readStream(name)).map((e) => e.id)).toEqual([a, b, expect.any(String), a]);
      });

      it("keeps an event id as a GUID: given in capitals, it reads back in lowercase", async () => {
        const name = stream();
        const id = randomUUID();
        await client.appendToStream(name, event(1, id.toUpperCase()), { expectedRevision: NO_STREAM });
        expect((await readStream(name))[0]?.id).toBe(id);
      });

      it("refuses an append over 1 MiB (MaxAppendSize's default), writing nothing", async () => {
        const name = stream();
        const large = jsonEvent({ type: "Large", data: { text: "x".repeat(1024 * 1024) } });
        const refused = await client.appendToStream(name, large).catch((e) => e);
        expect(refused).toBeInstanceOf(MaxAppendSizeExceededError);
        expect(refused).toMatchObject({ maxAppendSize: 1024 * 1024 });
        await expect(readStream(name)).rejects.toBeInstanceOf(StreamNotFoundError);
      });
    });

    describe("reading streams", () => {
      it("reads a stream with each event's $all position, JSON data, metadata and creation time", async () => {
        const name = stream();
        const before = Date.now();
        const appended = await client.appendToStream(name, [event(1), event(2)], {
          expectedRevision: NO_STREAM,
        });
        const read = await readStream(name);
        expect(read.map((e) => [e.revision, e.type, e.data, e.metadata])).toEqual([
          [0n, "Happened", { n: 1 }, { $correlationId: "c-1" }],
          [1n, "Happened", { n: 2 }, { $correlationId: "c-1" }],
        ]);
        expect(read[1]?.position).toEqual(appended.position);
        expect(read[0]?.position?.commit).toBeLessThan(appended.position?.commit as bigint);
        // `created` is .NET ticks on the wire; the client makes a Date of it, to the millisecond.
        expect(read[0]?.created.getTime()).toBeGreaterThanOrEqual(before - 60_000);
        expect(read[0]?.created.getTime()).toBeLessThanOrEqual(Date.now() + 60_000);
      });

      it("answers a read of a missing stream with stream-not-found", async () => {
        await expect(readStream(stream())).rejects.toBeInstanceOf(StreamNotFoundError);
      });

      it("soft-deletes: the stream reads as missing, and an append to no stream continues its revisions", async () => {
        const name = stream();
        await client.appendToStream(name, [event(1), event(2)], { expectedRevision: NO_STREAM });
        const [first] = await readStream(name);
        await client.deleteStream(name);
        await expect(readStream(name)).rejects.toBeInstanceOf(StreamNotFoundError);
        const again = await client.appendToStream(name, event(3), { expectedRevision: NO_STREAM });
        expect(again.nextExpectedRevision).toBe(2n);
        expect((await readStream(name)).map((e) => e.revision)).toEqual([2n]);
        // $all keeps the deleted events (until a scavenge).
        expect((await readAll(first?.position as Position, 1))[0]?.event?.id).toBe(first?.id);
      });

      it("hard-deletes: reads and appends fail with stream-deleted; $all and filters get a $streamDeleted tombstone", async () => {
        const name = stream();
        await client.appendToStream(name, event(1), { expectedRevision: NO_STREAM });
        const last = await positionOfLast(name);
        await client.tombstoneStream(name);
        await expect(readStream(name)).rejects.toBeInstanceOf(StreamDeletedError);
        await expect(client.appendToStream(name, event(2))).rejects.toBeInstanceOf(StreamDeletedError);
        const { subscription, seen } = subscribe(last, name);
        await expect.poll(() => events(seen).length).toBe(1);
        await subscription.unsubscribe();
        expect(events(seen)[0]).toMatchObject({
          streamId: name,
          type: "$streamDeleted",
          revision: 2n ** 63n - 1n,
          isJson: false,
        });
      });
    });

    describe("reading $all", () => {
      it("reads $all from a position including the event there; subscribes after it, excluding it", async () => {
        const name = stream();
        await client.appendToStream(name, [event(1), event(2), event(3)], { expectedRevision: NO_STREAM });
        const [first] = await readStream(name);
        const from = first?.position as Position;
        expect((await readAll(from))[0]?.event?.id).toBe(first?.id);
        const { subscription, seen } = subscribe(from, name);
        await expect.poll(() => events(seen).length).toBe(2);
        await subscription.unsubscribe();
        expect(events(seen).map((e) => e.revision)).toEqual([1n, 2n]);
      });

      it("reads nothing past the end of the log, and fails a read from between two records", async () => {
        const name = stream();
        await client.appendToStream(name, event(1), { expectedRevision: NO_STREAM });
        const last = await positionOfLast(name);
        expect(
          await readAll({ commit: last.commit + 10n ** 12n, prepare: last.prepare + 10n ** 12n }),
        ).toEqual([]);
        const between = await readAll({ commit: last.commit + 1n, prepare: last.prepare + 1n }).catch(
          (e) => e,
        );
        expect(between).toBeInstanceOf(Error);
        // How the adapter recognises it (esdb-errors.ts).
        expect(between.message).toMatch(
          atLeast(24, 10) ? /invalid position/i : /Unexpected ReadAllResult: Error/,
        );
      });

      it("fails a subscription from between two records", async () => {
        const name = stream();
        await client.appendToStream(name, [event(1), event(2)], { expectedRevision: NO_STREAM });
        const [first] = await readStream(name);
        const position = first?.position as Position;
        const subscription = client.subscribeToAll({
          fromPosition: { commit: position.commit + 1n, prepare: position.prepare + 1n },
          filter: streamNameFilter({ prefixes: [name] }),
        });
        const failed = await new Promise((resolve) => subscription.on("error", resolve));
        expect(failed).toBeInstanceOf(Error);
      });

      it("subscribes from past the end: 24.10 passes over every event up to there, earlier versions deliver them", async () => {
        const name = stream();
        await client.appendToStream(name, event(0), { expectedRevision: NO_STREAM });
        const start = await positionOfLast(name);
        // Far enough that other test files writing meanwhile on a shared server do not get there first.
        const far = { commit: start.commit + 4_000_000n, prepare: start.prepare + 4_000_000n };
        const { subscription, seen, confirmed } = subscribe(far, name);
        await confirmed;
        await client.appendToStream(name, event(1));
        // Large events (400 kB each) take the log past the subscription's start.
        const filler = stream();
        const large = () => jsonEvent({ type: "Filler", data: { text: "x".repeat(400_000) } });
        while (((await client.appendToStream(filler, large())).position?.commit ?? 0n) <= far.commit);
        await client.appendToStream(name, event(2));
        await expect.poll(() => events(seen).at(-1)?.data, { timeout: 10_000 }).toEqual({ n: 2 });
        await subscription.unsubscribe();
        expect(events(seen).map((e) => e.data)).toEqual(atLeast(24, 10) ? [{ n: 2 }] : [{ n: 1 }, { n: 2 }]);
      });

      it("confirms, catches up, says caught-up from 23.10 on, and reports checkpoints as it looks past other streams", async () => {
        const [mine, others] = [stream(), stream()];
        await client.appendToStream(mine, event(0), { expectedRevision: NO_STREAM });
        const from = await positionOfLast(mine);
        await client.appendToStream(others, event(0));
        const { subscription, seen, confirmed } = subscribe(from, mine);
        await confirmed;
        // Having caught up (past the other stream's event), 24.10 says where it is: at the start
        // when nothing matched, not 2^64 − 1. (A start at the last record goes live at once.)
        if (atLeast(24, 10)) await expect.poll(() => seen[0]?.kind, { timeout: 10_000 }).toBe("checkpoint");
        // Every 32 events considered (the default window × checkpointInterval 1), matching or not.
        for (let i = 0; i < 70; i++) await client.appendToStream(others, event(i));
        const written = await client.appendToStream(mine, event(99));
        await expect.poll(() => events(seen).length, { timeout: 10_000 }).toBe(1);
        await subscription.unsubscribe();
        expect(events(seen)[0]?.revision).toBe(1n);
        // What came before the event: caught-up (23.10 on) precedes anything live.
        const before = seen.slice(
          0,
          seen.findIndex((message) => message.kind === "event"),
        );
        const caughtUp = before.findIndex((message) => message.kind === "caughtUp");
        if (atLeast(23, 10)) expect(caughtUp).toBeGreaterThanOrEqual(0);
        else expect(caughtUp).toBe(-1);
        const checkpoints = before.flatMap((message) =>
          message.kind === "checkpoint" ? [message.position] : [],
        );
        expect(checkpoints.length).toBeGreaterThanOrEqual(2);
        for (const checkpoint of checkpoints) {
          expect(typeof checkpoint?.commit).toBe("bigint");
          expect(checkpoint?.commit).toBeGreaterThanOrEqual(from.commit);
          expect(checkpoint?.commit).toBeLessThanOrEqual(written.position?.commit as bigint);
        }
      });
    });
  });

/** ServerFeatures as the client fetched it (the client keeps it to itself). */
function features(client: EventStoreDBClient) {
  return (client as unknown as { capabilities: Promise<ServerFeaturesLike> }).capabilities;
}

interface ServerFeaturesLike {
  serverVersion: string;
  supports(method: unknown): boolean;
}
